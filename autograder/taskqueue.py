"""Grading across machines: one Celery task per submission, through a Redis broker, recorded into PostgreSQL.

    python -m autograder.taskqueue worker --broker redis://:password@redis:6379/0     # on every grading machine
    python -m autograder.taskqueue grade 02_perceptron --broker redis://:password@redis:6379/0
    python -m autograder.taskqueue grade 02_perceptron --processes 4     # no broker: 4 local recorders

(``python -m autograder grade`` offers the same through ``--broker`` once the pipeline's command line
is wired to this module.)

The instructor's ``grade --broker`` queues one task per submission that is not graded yet (same
fingerprint as in the ledger, ``db.Ledger``) and follows the ledger until every one is recorded.
A worker (``… worker``: a Celery worker, ``--concurrency`` processes on its
machine) takes a task, reads the submission from the class folder (shared by every machine:
``NNLAB_COURSE_DIR`` on a shared volume), reads, restores, executes and judges it in the same
sandbox as a local run, and records it into the PostgreSQL gradebook once (``Ledger.record``).
Every machine runs the same image and the same sandbox; only the class folder, the broker and
the database are shared.

What makes it safe to lose a worker at any moment:

- **acks late**: a task's message leaves the queue only once its recording is committed. A worker
  process killed mid-task is noticed by its worker (``reject_on_worker_lost``): the message goes
  back at once; a whole worker machine lost, or hung, keeps its message unacknowledged, and the
  broker hands it to another worker after ``visibility_timeout`` (longer than a submission can take).
- **an idempotent record**: a delivery of a submission the ledger already holds for this run does
  nothing; two deliveries at once serialise on the student's lock; a recording that did not finish
  left no ledger row, and nbgrader's forced autograde replaces what it half-wrote.
- **errors that say what to do**: a broker that is down stops ``grade --broker`` before it queues
  anything; a database that refuses connections makes the task retry later (the worker logs it) and
  ``grade --broker`` say so; a run with no progress for ``--stall`` seconds (no worker, every worker
  dead) stops with the number still queued. Each case resumes by running the same command again:
  what was recorded stays recorded, and nothing is recorded twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue as threads_queue
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

from celery import Celery
from kombu import Connection

from . import db
from .errors import GraderError
from .limits import Limits

BROKER_ENV = "NNLAB_BROKER_URL"
TASK = "nnlab.grade"

celery = Celery("nnlab", set_as_current=False)
celery.conf.update(
    task_acks_late=True,                # the message is acknowledged after the recording, never before
    task_reject_on_worker_lost=True,    # a worker process that dies gives its message back at once
    worker_prefetch_multiplier=1,       # a worker holds one task per process: a lost worker strands no others
    worker_disable_prefetch=True,       # … and takes the next only when a process is free
    task_ignore_result=True,            # results live in the ledger (PostgreSQL), not in the broker
    task_serializer="json", accept_content=["json"], result_serializer="json",
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
    task_track_started=False,
)


def configure(broker: str, visibility_s: float) -> Celery:
    """Point the app at ``broker``; unacknowledged messages return to the queue after ``visibility_s``.

    Workers look for such messages every 5 s (kombu's default is every 10th of 10-s ticks).
    """
    celery.conf.broker_url = broker
    celery.conf.broker_transport_options = {"visibility_timeout": int(visibility_s), "unacked_restore_interval": 5,
                                            "unacked_restore_throttle": 1}
    return celery


def class_course(root: Path):
    """The class folder, with the gradebook ``db.url`` names (PostgreSQL for a class on several workers)."""
    from .paths import Course

    class DatabaseCourse(Course):
        @property
        def gradebook_url(self) -> str:
            return db.url(self.root)

    return DatabaseCourse(Path(root).resolve())


def queue_name(course_root: Path) -> str:
    """One queue per class folder, so one broker serves several courses."""
    return "nnlab." + hashlib.sha256(str(Path(course_root).resolve()).encode()).hexdigest()[:12]


def broker_url(explicit: str | None) -> str:
    url = explicit or os.environ.get(BROKER_ENV, "").strip()
    if not url:
        raise GraderError(f"no broker: pass --broker redis://… or set {BROKER_ENV}")
    return url


def redacted(url: str) -> str:
    return db.redacted(url)


def check_broker(url: str, timeout_s: float = 5) -> None:
    """Connect to the broker once; a clear ``GraderError`` when it does not answer."""
    try:
        with Connection(url, connect_timeout=timeout_s) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout_s)
    except Exception as error:  # kombu raises OperationalError, redis its own ConnectionError, OSError…
        raise GraderError(f"the broker {redacted(url)} does not answer ({type(error).__name__}: "
                          f"{str(error)[:200]}). Nothing was queued. Start redis-server (or check --broker / "
                          f"{BROKER_ENV}) and run the same command again.") from None


def visibility_for(limits: Limits) -> float:
    """Longer than one submission can take (its wall clock, the judge, the recording), with room to spare."""
    return max(60.0, 2 * limits.wall_s + 120)


# -- the worker's side -----------------------------------------------------------------------------------

_state: dict = {}
_zygote = None  # the worker machine's warm-kernel zygote, started in the worker's main process


def warm_enabled() -> bool:
    return os.environ.get("NNLAB_WARM", "1") != "0"


def start_zygote(course_root: Path) -> None:
    """One zygote per worker machine, before the pool forks: every worker process forks its kernels from it."""
    global _zygote
    from . import sandbox, warm
    from .paths import REPOSITORY
    if warm_enabled() and sandbox.bwrap() and _zygote is None:
        # the process's zygote (``warm.shared``), which ``execute`` forks every kernel from, in this process
        # and in every worker process forked from it
        _zygote = warm.shared([REPOSITORY, Path(course_root).resolve()], Limits())
        if _zygote is not None:
            print(f"nnlab worker: warm kernels ready (zygote started in {_zygote.start_s:.1f} s)", file=sys.stderr,
                  flush=True)


def _worker_state() -> dict:
    """Per worker process: its slot user (as root), its scratch folder, its pipelines and its ledger."""
    if not _state:
        from . import sandbox
        uids, locks = sandbox.claim_uids(1) if sandbox.as_root() else ([None], [])
        _state.update(uid=uids[0], locks=locks, pipelines={}, ledgers={},
                      scratch=Path(tempfile.mkdtemp(prefix="nnlab-worker-")))
    return _state


def _pipeline(course, assignment: str, spec: dict):
    from .pipeline import Options, Pipeline
    state = _worker_state()
    key = (str(course.root), assignment, json.dumps(spec["options"], sort_keys=True))
    if key not in state["pipelines"]:
        o = spec["options"]
        options = Options(workers=1, limits=Limits.from_dict(o["limits"]), sandboxed=o["sandboxed"],
                          feedback=o["feedback"], force=o["force"],
                          release_dir=Path(o["release_dir"]) if o.get("release_dir") else None)
        state["pipelines"][key] = Pipeline(course, assignment, options, log=lambda line: None)
    return state["pipelines"][key]


def _ledger(db_url: str) -> db.Ledger:
    state = _worker_state()
    if db_url not in state["ledgers"]:
        state["ledgers"][db_url] = db.Ledger(db_url)
    return state["ledgers"][db_url]


def grade_one(spec: dict) -> dict:
    """One delivery of one submission: skip it when the ledger has it, else grade it and record it once."""
    from . import submission
    from .pipeline import Job
    here = class_course(Path(os.environ.get("NNLAB_COURSE_DIR") or spec["course"]))
    assignment, student, run, force = spec["assignment"], spec["student"], spec["run"], spec["options"]["force"]
    ledger = _ledger(db.url(here.root))
    if db.Ledger.settled(ledger.get(assignment, student), spec["fingerprint"], run, force):
        return {"student": student, "skipped": "already recorded"}
    pipeline = _pipeline(here, assignment, spec)
    sub = submission.find(student, here.submitted / student / assignment, f"{pipeline.notebook}.ipynb")
    job = Job(sub, sub.fingerprint(pipeline.settings))
    stages: dict[str, float] = {}
    started = time.monotonic()
    pipeline._prepare(job)
    stages["prepare_s"] = time.monotonic() - started
    if job.run:
        slots: threads_queue.Queue = threads_queue.Queue()
        slots.put(_worker_state()["uid"])
        job = pipeline._execute(job, _worker_state()["scratch"], slots)
    stages["execute_s"] = job.seconds

    def record() -> dict:
        started = time.monotonic()
        result = record_result(pipeline, job)
        stages["record_s"] = time.monotonic() - started
        result = {**result, **{k: round(v, 3) for k, v in stages.items()},
                  "worker": f"{socket.gethostname()}:{os.getpid()}"}
        pipeline._write_result(result)
        return result

    result, recorded = ledger.record(assignment, student, job.fingerprint, run, force, record)
    return {"student": student, "recorded": recorded, "score": result.get("score")}


def record_result(pipeline, job) -> dict:
    """Record ``job`` in the gradebook and build its result (the pipeline's ``_record`` without its console)."""
    from .outcomes import Problem, Reason
    scores = pipeline._record_in_gradebook(job)
    auto = {k: v for k, v in scores.items() if v is not None}
    failed = [k for k, v in scores.items() if k in pipeline.tests and v is not None and v < pipeline.tests[k]]
    problems = list(job.problems)
    if failed and not problems:
        problems.append(Problem(Reason.TESTS_FAILED, ", ".join(failed)))
    return {"student": job.submission.student, "assignment": pipeline.assignment, "fingerprint": job.fingerprint,
            "score": sum(auto.values()), "max_score": pipeline._max_score(), "scores": scores,
            "reasons": [p.as_dict() for p in problems], "notes": job.notes, "seconds": round(job.seconds, 2),
            "sandboxed": pipeline.options.sandboxed}


@celery.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=30)
def grade_task(self, spec: dict) -> dict:
    """The Celery task: ``grade_one``; a database that does not answer is retried later, with back-off."""
    try:
        return grade_one(spec)
    except Exception as error:
        if db.transient(error):
            print(f"nnlab worker: {spec.get('student')}: the database does not answer; retrying "
                  f"({type(error).__name__}: {str(error)[:200]})", file=sys.stderr, flush=True)
            raise self.retry(exc=error, countdown=min(60, 2 ** min(self.request.retries, 6)))
        raise


def run_worker(broker: str, course_root: Path, *, concurrency: int, visibility_s: float, loglevel: str = "WARNING",
               name: str | None = None) -> None:
    """``python -m autograder.taskqueue worker``: a Celery worker on the class folder's queue (returns when stopped)."""
    check_broker(broker)
    db.check(db.url(course_root))
    configure(broker, visibility_s)
    os.environ["NNLAB_COURSE_DIR"] = str(course_root)
    start_zygote(course_root)
    celery.worker_main(argv=["worker", "--queues", queue_name(course_root), "--concurrency", str(concurrency),
                             "--pool", "prefork", "--loglevel", loglevel, "--without-gossip", "--without-mingle",
                             "--without-heartbeat", "--hostname", name or f"nnlab-{uuid.uuid4().hex[:8]}@%h"])


# -- the instructor's side -------------------------------------------------------------------------------


def plan(pipeline, ledger: db.Ledger) -> tuple[list, list, dict, dict]:
    """The submissions to grade (not in the ledger for this fingerprint), their fingerprints, the run's spec."""
    from . import submission
    course, assignment, options = pipeline.course, pipeline.assignment, pipeline.options
    subs = submission.all_in(course.submitted, assignment, f"{pipeline.notebook}.ipynb")
    fingerprints = {s.student: s.fingerprint(pipeline.settings) for s in subs}
    run = uuid.uuid4().hex
    entries = ledger.all(assignment)
    todo = [s for s in subs if not db.Ledger.settled(entries.get(s.student), fingerprints[s.student], run, options.force)]
    spec = {"course": str(course.root), "assignment": assignment, "run": run,
            "options": {"limits": options.limits.as_dict(), "sandboxed": options.sandboxed, "feedback": options.feedback,
                        "force": options.force, "release_dir": str(options.release_dir) if options.release_dir else None}}
    return subs, todo, fingerprints, spec


def _progress(pipeline, done: int, total: int, result: dict) -> None:
    key = ", ".join(p["key"] for p in result["reasons"]) or "ok"
    pipeline.log(f"[{done:>3}/{total}] {result['student']:<24} {result['score']:>5g}/{result['max_score']:g}  {key}  "
                 f"({result.get('seconds', 0):.1f} s on {result.get('worker', '?')})")


def _finish(pipeline, ledger: db.Ledger, subs) -> list[dict]:
    """Every student's result from the ledger, written to the class folder's result files too."""
    entries = ledger.all(pipeline.assignment)
    results = [entries[s.student].result for s in subs if s.student in entries]
    for result in results:
        pipeline._write_result(result)
    ledger.close()
    return results


def grade(pipeline, broker: str, *, stall_s: float = 600, poll_s: float = 0.5, log=print) -> list[dict]:
    """Queue every submission ``pipeline`` would grade, then follow the ledger until all are recorded."""
    course, assignment, options = pipeline.course, pipeline.assignment, pipeline.options
    db_url = db.url(course.root)
    ledger = db.Ledger(db_url)  # a sqlite gradebook is refused here, with what to do
    check_broker(broker)
    configure(broker, visibility_for(options.limits))
    subs, todo, fingerprints, spec = plan(pipeline, ledger)
    run = spec["run"]
    pipeline.log(f"{assignment}: {len(subs)} submissions, {len(subs) - len(todo)} already graded, {len(todo)} queued "
                 f"on {redacted(broker)} (queue {queue_name(course.root)}), recorded into {db.redacted(db_url)}")
    try:
        with celery.connection_for_write() as connection:
            for sub in todo:
                grade_task.apply_async(args=[{**spec, "student": sub.student, "fingerprint": fingerprints[sub.student]}],
                                       queue=queue_name(course.root), connection=connection,
                                       retry=True, retry_policy={"max_retries": 3, "interval_start": 0.5})
    except Exception as error:
        raise GraderError(f"the broker {redacted(broker)} stopped answering while tasks were queued "
                          f"({type(error).__name__}: {error}). Run the same command again: what was queued and "
                          f"graded is kept, the rest is queued again.") from None
    waiting = {s.student for s in todo}
    last_progress, done, seen = time.monotonic(), 0, None
    while waiting:
        time.sleep(poll_s)
        try:
            fresh, seen = ledger.since(assignment, seen)  # only what was recorded since the last look
        except db.DatabaseUnavailable as error:
            raise GraderError(f"{error} ({len(waiting)} submissions were still being graded)") from None
        for entry in fresh:
            student = entry.student
            # recorded in this run (of whatever the worker found there), or found recorded already
            if student in waiting and (entry.run == run or db.Ledger.settled(entry, fingerprints[student], run,
                                                                             options.force)):
                waiting.discard(student)
                done += 1
                last_progress = time.monotonic()
                _progress(pipeline, done, len(todo), entry.result)
        if waiting and time.monotonic() - last_progress > stall_s:
            raise GraderError(f"{len(waiting)} of {len(todo)} submissions not graded: nothing was recorded for "
                              f"{stall_s:g} s. Are workers running on queue {queue_name(course.root)} "
                              f"(python -m autograder.taskqueue worker --broker …)? Run the same command again to resume: "
                              f"the {done} graded are kept.")
    return _finish(pipeline, ledger, subs)


def _local_init(zygote) -> None:
    global _zygote
    _zygote = zygote


def grade_in_processes(pipeline, processes: int) -> list[dict]:
    """Without a broker, on this machine: ``processes`` worker processes that each execute, judge and record
    into the PostgreSQL gradebook, concurrently, through the same ``grade_one`` (and the same ledger) as
    Celery's workers. One warm-kernel zygote serves them all."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    course, assignment = pipeline.course, pipeline.assignment
    db_url = db.url(course.root)
    ledger = db.Ledger(db_url)
    subs, todo, fingerprints, spec = plan(pipeline, ledger)
    pipeline.log(f"{assignment}: {len(subs)} submissions, {len(subs) - len(todo)} already graded, {len(todo)} to grade "
                 f"in {processes} processes recording at once into {db.redacted(db_url)}")
    if pipeline.options.sandboxed:
        start_zygote(course.root)
    ledger.engine.dispose()  # no database connection is shared with the forked processes
    try:
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                                 initializer=_local_init, initargs=(_zygote,)) as pool:
            futures = [pool.submit(grade_one, {**spec, "student": s.student, "fingerprint": fingerprints[s.student]})
                       for s in todo]
            done = 0
            for future in as_completed(futures):
                outcome = future.result()
                done += 1
                entry = ledger.get(assignment, outcome["student"])
                if entry is not None:
                    _progress(pipeline, done, len(todo), entry.result)
    finally:
        stop_zygote()
    return _finish(pipeline, ledger, subs)


def stop_zygote() -> None:
    global _zygote
    if _zygote is not None:
        _zygote.stop()
        _zygote = None


def main(argv=None) -> int:
    """``python -m autograder.taskqueue {grade,worker}``."""
    import argparse

    from .paths import course_dir
    from .pipeline import Options, Pipeline
    parser = argparse.ArgumentParser(prog="python -m autograder.taskqueue")
    steps = parser.add_subparsers(dest="step", required=True)
    step = steps.add_parser("worker", help="a Celery worker grading this class folder's submissions")
    step.add_argument("--broker")
    step.add_argument("--concurrency", type=int, default=os.cpu_count() or 1)
    step.add_argument("--visibility-timeout", type=float, default=visibility_for(Limits()))
    step.add_argument("--loglevel", default="WARNING")
    step = steps.add_parser("grade", help="queue every submission of a lesson and wait for the ledger")
    step.add_argument("lesson")
    step.add_argument("--broker")
    step.add_argument("--processes", type=int, help="without --broker: this many local processes record at once "
                                                       "(PostgreSQL gradebook)")
    step.add_argument("--force", action="store_true")
    step.add_argument("--no-feedback", action="store_true")
    step.add_argument("--timeout", type=float, default=Limits().wall_s)
    step.add_argument("--stall", type=float, default=600)
    step.add_argument("--release-dir", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.step == "worker":
            run_worker(broker_url(args.broker), course_dir(), concurrency=args.concurrency,
                       visibility_s=args.visibility_timeout, loglevel=args.loglevel)
            return 0
        broker = None if args.processes else broker_url(args.broker)
        db.check(db.url(course_dir()))  # before anything reads the gradebook: a clear error, not a traceback
        if broker:
            check_broker(broker)
        options = Options(workers=1, limits=Limits(wall_s=args.timeout), feedback=not args.no_feedback,
                          force=args.force, release_dir=args.release_dir)
        pipeline = Pipeline(class_course(course_dir()), args.lesson, options, log=lambda line: print(line, flush=True))
        from . import summary
        print()
        results = grade(pipeline, broker, stall_s=args.stall) if broker else grade_in_processes(pipeline, args.processes)
        print(summary.table(results))
        return 0
    except GraderError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
