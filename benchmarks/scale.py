"""A class of hundreds through the queue: Celery workers, a Redis broker, a PostgreSQL gradebook, on this machine.

    .venv/bin/python benchmarks/scale.py [--students 500] [--workers 2] [--concurrency 1] [--lesson 02_perceptron]

Starts a throwaway PostgreSQL cluster and a redis-server on 127.0.0.1 (``tests/support/servers.py``),
releases the lesson into the PostgreSQL gradebook, generates ``--students`` submissions (model answers,
blank releases, half-right and plausible-but-wrong answers, in turn), starts ``--workers`` worker
processes (``python -m autograder worker``, ``--concurrency`` kernels each), and grades the
class with ``python -m autograder grade --broker``. It prints:

- throughput: submissions per minute, wall clock from the first task queued to the last recorded;
- the time in each stage per submission (mean, median, 95th percentile), as the workers measured
  them: read and restore (``prepare``), the kernel's start, the notebook's execution, the judge and
  the recording (the pipeline reports the split it knows; ``execute`` is the rest);
- the recording rate: recordings per second across all workers while the run lasted, and the
  mean seconds of one recording (nbgrader's autograde and feedback, the ledger's transaction);
- a check: every student recorded exactly once, scores as the kinds of answers imply.

The README's "Scale" section projects 5,000 students on N workers of C cores from these figures.
Figures are only as quiet as the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from autograder import db  # noqa: E402
from support.submissions import fill_answers, model_answers  # noqa: E402
from support.servers import PostgresServer, RedisServer, missing  # noqa: E402
from test_grading_cycle import HALF_RIGHT, PLAUSIBLE_BUT_WRONG  # noqa: E402

BIN = Path(sys.executable).parent
STAGES = ("prepare_s", "start_s", "execute_s", "judge_s", "record_s")


def env_for(course: Path, url: str) -> dict:
    return {**os.environ, "NNLAB_COURSE_DIR": str(course), db.ENV: url,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def make_class(course: Path, url: str, lesson: str, students: int) -> Path:
    release_dir = course / "release"
    made = subprocess.run([str(BIN / "nbgrader"), "generate_assignment", lesson, "--force",
                           f"--CourseDirectory.release_directory={release_dir}"], cwd=ROOT,
                          env=env_for(course, url), capture_output=True, text=True)
    if made.returncode != 0:
        raise SystemExit(f"nbgrader generate_assignment failed:\n{made.stderr[-3000:]}")
    release = nbformat.read(release_dir / lesson / f"{lesson}.ipynb", as_version=4)
    model = model_answers(nbformat.read(ROOT / "solutions" / lesson / f"{lesson}.ipynb", as_version=4))
    kinds = [fill_answers(release, model), release]
    if lesson == "02_perceptron":
        kinds += [fill_answers(release, {**model, **HALF_RIGHT}), fill_answers(release, PLAUSIBLE_BUT_WRONG)]
    for number in range(students):
        folder = course / "submitted" / f"student{number:04d}" / lesson
        folder.mkdir(parents=True)
        nbformat.write(kinds[number % len(kinds)], folder / f"{lesson}.ipynb")
    return release_dir


def database_activity(url: str) -> dict[str, int]:
    """PostgreSQL's own counters for the gradebook's database: committed transactions, sessions opened."""
    import sqlalchemy
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as connection:
        row = connection.execute(sqlalchemy.text("select xact_commit, sessions from pg_stat_database "
                                                 "where datname = current_database()")).one()
    engine.dispose()
    return {"xact_commit": int(row[0]), "sessions": int(row[1])}


def summary(values: list[float]) -> str:
    if not values:
        return f"{'-':>8} {'-':>8} {'-':>8}"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{statistics.mean(values):>8.2f} {statistics.median(values):>8.2f} {p95:>8.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (machines, in a deployment)")
    parser.add_argument("--concurrency", type=int, default=1, help="kernels per worker")
    parser.add_argument("--lesson", default="02_perceptron")
    parser.add_argument("--no-feedback", action="store_true", help="record without the HTML feedback")
    args = parser.parse_args()
    if missing():
        raise SystemExit(f"not installed: {missing()} (apt-get install postgresql redis-server)")
    with tempfile.TemporaryDirectory(prefix="nnlab-scale-") as tmp, PostgresServer.start() as pg, \
            RedisServer.start(Path(tmp)) as redis:
        course = Path(tmp) / "course"
        url = pg.create_database("gradebook")
        made = time.perf_counter()
        release_dir = make_class(course, url, args.lesson, args.students)
        print(f"class of {args.students} submissions of {args.lesson} made in {time.perf_counter() - made:.1f} s")
        env = env_for(course, url)
        logs = [open(Path(tmp) / f"worker-{n}.log", "w") for n in range(args.workers)]
        workers = [subprocess.Popen([sys.executable, "-m", "autograder", "worker", f"--broker={redis.url}",
                                     f"--concurrency={args.concurrency}", "--loglevel=WARNING"], cwd=ROOT, env=env,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True) for log in logs]
        try:
            before = database_activity(url)
            started = time.perf_counter()
            graded = subprocess.run([sys.executable, "-m", "autograder", "grade", args.lesson,
                                     f"--broker={redis.url}", f"--release-dir={release_dir}", "--stall=600",
                                     *(["--no-feedback"] if args.no_feedback else [])],
                                    cwd=ROOT, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - started
        finally:
            for worker in workers:
                os.killpg(worker.pid, 9)
                worker.wait(30)
        if graded.returncode != 0:
            raise SystemExit(f"grading failed:\n{graded.stdout[-3000:]}\n{graded.stderr[-3000:]}")
        ledger = db.Ledger(url)
        entries = ledger.all(args.lesson)
        after = database_activity(url)
        import sqlalchemy
        with ledger.engine.connect() as connection:
            stamps = [row[0].timestamp() for row in connection.execute(sqlalchemy.text(
                f"select recorded_at from {db.LEDGER} where assignment = :a order by recorded_at"), {"a": args.lesson})]
        ledger.close()

    results = [e.result for e in entries.values()]
    once = all(e.recordings == 1 for e in entries.values()) and len(entries) == args.students
    cores = os.cpu_count()
    print(f"\n{args.students} submissions of {args.lesson}: {args.workers} workers x {args.concurrency} kernels, "
          f"PostgreSQL gradebook, Redis broker, {cores} cores on this machine")
    print(f"wall clock (queue to last recording): {wall:.1f} s; throughput {60 * args.students / wall:.1f} "
          f"submissions/min ({wall / args.students:.2f} s per submission)")
    print(f"\n{'stage (per submission)':<28} {'mean':>8} {'median':>8} {'p95':>8}  (seconds)")
    for stage in STAGES:
        values = [r[stage] for r in results if stage in r]
        print(f"{stage[:-2]:<28} {summary(values)}")
    print(f"{'whole task (worker)':<28} {summary([sum(r.get(s, 0) for s in ('prepare_s', 'execute_s', 'record_s')) for r in results])}")
    if len(stamps) > 1:
        span = stamps[-1] - stamps[0]
        print(f"\nrecording rate: {len(stamps) / max(span, 1e-9):.2f} recordings/s over {span:.0f} s "
              f"({args.workers * args.concurrency} recorders at once at most); one recording "
              f"{statistics.mean(r['record_s'] for r in results):.2f} s on average")
    commits, sessions = (after[k] - before[k] for k in ("xact_commit", "sessions"))
    print(f"PostgreSQL per submission: {commits / args.students:.0f} transactions, {sessions / args.students:.1f} "
          f"connections opened ({commits / wall:.0f} transactions/s, {sessions / wall:.1f} connections/s in this run)")
    print(f"every student recorded exactly once: {'yes' if once else 'NO'}")
    from collections import Counter
    scores = Counter(r["score"] for r in results)
    reasons = Counter(p["key"] for r in results for p in r["reasons"])
    print("scores: " + ", ".join(f"{score:g} x{count}" for score, count in sorted(scores.items())) +
          "; reasons: " + (", ".join(f"{key} x{count}" for key, count in sorted(reasons.items())) or "none"))
    if reasons.get("grader-error"):
        raise SystemExit("the grader itself failed on some submissions: the figures above do not measure grading")
    print(json.dumps({"students": args.students, "workers": args.workers, "concurrency": args.concurrency,
                      "wall_s": round(wall, 1), "stages": {s: round(statistics.mean([r[s] for r in results if s in r]), 3)
                                                           for s in STAGES if any(s in r for r in results)}}))


if __name__ == "__main__":
    main()
