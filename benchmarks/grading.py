"""How fast the grading pipeline grades a class, against plain serial `nbgrader autograde`.

    .venv/bin/python benchmarks/grading.py [--students 40] [--workers N] [--lesson 02_perceptron] [--repeats 2]

One generated class (the lesson's model answers, blank releases, half-right and plausible-but-wrong
answers, in turn) is graded five ways on this machine, each in a fresh course folder:

1. plain `nbgrader autograde <lesson>`: one submission after another, no isolation;
2. `python -m autograder grade --no-sandbox`: the pipeline, parallel, resource limits only;
3. the pipeline, parallel, in bubblewrap, every kernel started cold (``NNLAB_WARM=0``);
4. the pipeline, parallel, in bubblewrap, with warm kernels (the default): each kernel forked from
   one pre-imported zygote (``autograder/warm.py``), in a fresh sandbox of its own; the test cells
   judged outside the kernel (issue 14);
5. the same on the old path (``--in-kernel-tests-benchmark-only``): test cells run inside the
   student's kernel, kept for this comparison alone (it is not safe against a student).

Runs 4 and 5 are the pipeline as ``python -m autograder grade`` runs it (same code, same process
layout), with each stage of each submission timed from inside (``--stages-into``); on the old path
(5) the test cells count as judge time too, run where they ran then:

- start: from the execution's beginning to its first cell (scratch folder, fork or cold start of
  the sandboxed kernel, its sockets, the client's handshake), plus its shutdown after the last cell,
  plus the wait at the first test cell for the student's judge to have started, less the wait for
  the run's zygote (its start, paid once per run, is printed on its own);
- execute: the notebook's own cells, the student's and the instructor's (what the notebook costs
  wherever it runs);
- judge: the graded test cells (run by the judge against the kernel), then the verdict: deriving from the
  executed notebook what nbgrader records (``verdict``) and clearing the sandbox's scratch;
- record: recording into nbgrader's gradebook and writing the student's result (``Pipeline._record``);
- read: reading, restoring and scanning the submission (``Pipeline._prepare``).

The per-submission overhead is everything but the notebook's own cells (read + start + verdict +
record), over the time of those cells.

Runs 4 and 5 are the comparison of issue 14 (the judge at least as fast as the in-kernel tests),
whose difference is a few per cent: each runs ``--repeats`` times (default 2), in turn and in
alternating order (4, 5, then 5, 4), so that neither always runs on a warmer or a busier machine;
their times, and the stages, are the means over the repeats.

It prints the five times, the speed-up of (4) over (1), the sandbox's overhead ((4) against (2)),
the judge against the in-kernel tests ((4) against (5)), and checks that every run gave every student
the same score. Feedback is left out of every run (it is a separate step in plain nbgrader too).
Figures are only as quiet as the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.submissions import fill_answers, model_answers  # noqa: E402
from test_grading_cycle import HALF_RIGHT, PLAUSIBLE_BUT_WRONG  # noqa: E402

BIN = Path(sys.executable).parent
STAGES = ("read", "start", "execute", "judge", "record")


def run(*args, course: Path, env: dict | None = None) -> float:
    """Run a command of the environment with ``course`` as the class folder; return its seconds."""
    env = {**os.environ, **(env or {}), "NNLAB_COURSE_DIR": str(course),
           "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    started = time.perf_counter()
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{args[0]} {args[1]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def make_class(course: Path, lesson: str, students: int, like: Path | None = None) -> None:
    """The assignment in the gradebook, and ``students`` submissions, mixed correct and wrong.

    ``like``: a class folder made before, whose release and gradebook are copied (so that every run
    grades against the same tests, even if the lesson's source changes meanwhile).
    """
    release_dir = course / "release"
    if like is None:
        run(BIN / "nbgrader", "generate_assignment", lesson, "--force",
            f"--CourseDirectory.release_directory={release_dir}", course=course)
    else:
        course.mkdir(parents=True)
        shutil.copytree(like / "release", release_dir)
        shutil.copy2(like / "gradebook.db", course / "gradebook.db")
    release = nbformat.read(release_dir / lesson / f"{lesson}.ipynb", as_version=4)
    model = model_answers(nbformat.read(ROOT / "solutions" / lesson / f"{lesson}.ipynb", as_version=4))
    kinds = [fill_answers(release, model), release, fill_answers(release, {**model, **HALF_RIGHT}),
             fill_answers(release, PLAUSIBLE_BUT_WRONG)]
    for number in range(students):
        folder = course / "submitted" / f"student{number:03d}" / lesson
        folder.mkdir(parents=True)
        nbformat.write(kinds[number % len(kinds)], folder / f"{lesson}.ipynb")


def scores(course: Path, lesson: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {s.student.id: s.score for s in gradebook.find_assignment(lesson).submissions}


# -- the staged run (in its own process, as `python -m autograder grade` would be) ------------------------


def grade_with_stages(lesson: str, workers: int, release_dir: Path, into: Path, in_kernel: bool = False) -> None:
    """Grade the class of ``NNLAB_COURSE_DIR`` with the pipeline, timing each stage of each submission
    (``in_kernel``: on the old path, the test cells run in the student's kernel)."""
    from autograder import cells, warm
    from autograder import execute as execution
    from autograder import pipeline
    from autograder.paths import course_dir

    local, stages, lock = threading.local(), {}, threading.Lock()

    def stage(student: str, name: str, seconds: float) -> None:
        with lock:
            entry = stages.setdefault(student, dict.fromkeys(STAGES + ("verdict", "zygote"), 0.0))
            entry[name] += seconds

    def timed(method, name):
        def wrapper(self, job, *args):
            started = time.monotonic()
            try:
                return method(self, job, *args)
            finally:
                stage(job.submission.student, name, time.monotonic() - started)
        return wrapper

    execute_notebook, execute_cell, execute_job = pipeline.execute, execution._execute_cell, pipeline.Pipeline._execute

    shared = warm.shared

    def timed_shared(*args, **kw):
        """The wait for the run's zygote (its start, for the first kernels): a cost of the run, not of a kernel."""
        started = time.monotonic()
        try:
            return shared(*args, **kw)
        finally:
            if getattr(local, "cells", None) is not None:
                local.cells["zygote"] += time.monotonic() - started

    def blank(began: float) -> dict:
        """One execution's timings, before its first cell."""
        return {"began": began, "first": None, "last": None, "execute": 0.0, "judge": 0.0, "zygote": 0.0,
                "waited": 0.0}

    async def timed_execute(notebook, scratch, **kw):
        local.cells = blank(time.monotonic())
        try:
            return await execute_notebook(notebook, scratch, **kw)
        finally:
            local.cells["ended"] = time.monotonic()

    def timed_cell(run_cell, test_cell):
        """A cell's time: a test cell's goes to judge, any other's to execute (``run_cell(…, cell, …)``)."""
        async def timed(*args):
            started = time.monotonic()
            try:
                return await run_cell(*args)
            finally:
                ended = time.monotonic()
                record = local.cells
                record["first"] = record["first"] or started
                record["last"] = ended
                record["judge" if test_cell(args) else "execute"] += ended - started
        return timed

    def timed_job(self, job, *args):
        started, local.cells = time.monotonic(), None
        try:
            return execute_job(self, job, *args)
        finally:
            total, record, student = time.monotonic() - started, local.cells, job.submission.student
            if record is None or "ended" not in record:  # the grader failed before the kernel: all of it is start
                record = {**blank(started), "ended": started + total}
            first, last = record["first"] or record["ended"], record["last"] or record["ended"]
            stage(student, "start", (first - record["began"]) + (record["ended"] - last) - record["zygote"]
                  + record["waited"])
            stage(student, "zygote", record["zygote"])
            stage(student, "execute", record["execute"])
            # the verdict: what the job does besides executing (deriving nbgrader's notebook, clearing up)
            verdict = total - (record["ended"] - record["began"])
            stage(student, "judge", record["judge"] + verdict)
            stage(student, "verdict", verdict)

    pipeline.execute, warm.shared = timed_execute, timed_shared
    execution._execute_cell = timed_cell(execute_cell, lambda args: cells.is_test(args[2]))
    if hasattr(execution, "_judge_cell"):  # issue 14: test cells judged outside the kernel
        execution._judge_cell = timed_cell(execution._judge_cell, lambda args: True)
    hand_over = execution._hand_over

    async def timed_hand_over(*args):
        """The wait, at the first test cell, for the student's judge to have started: part of start."""
        started = time.monotonic()
        try:
            return await hand_over(*args)
        finally:
            local.cells["waited"] += time.monotonic() - started

    execution._hand_over = timed_hand_over
    pipeline.Pipeline._execute = timed_job
    pipeline.Pipeline._prepare = timed(pipeline.Pipeline._prepare, "read")
    pipeline.Pipeline._record = timed(pipeline.Pipeline._record, "record")
    options = pipeline.Options(workers=workers, feedback=False, release_dir=release_dir, in_kernel_tests=in_kernel)
    pipeline.Pipeline(course_dir(), lesson, options, log=lambda line: None).grade()
    zygotes = [z for z in warm._zygotes.values() if z is not None]
    into.write_text(json.dumps({"stages": stages, "zygote_s": zygotes[0].start_s if zygotes else None}))


def print_stages(label: str, measured: dict, workers: int) -> None:
    """The per-submission breakdown of one staged run."""
    stages = measured["stages"]
    mean = {s: sum(entry[s] for entry in stages.values()) / max(1, len(stages))
            for s in STAGES + ("verdict", "zygote")}
    own = mean["execute"] + mean["judge"] - mean["verdict"]  # every cell of the notebook, tests included
    print(f"\n{label}, per submission (mean of {len(stages)}, seconds; workers run {workers} at once):")
    print("  " + "  ".join(f"{s} {mean[s]:.2f}" for s in STAGES)
          + f"   (judge = test cells {mean['judge'] - mean['verdict']:.2f} + verdict {mean['verdict']:.2f})")
    if measured["zygote_s"] is not None:
        print(f"  the zygote's start, once per run: {measured['zygote_s']:.2f} s (the first kernels wait for it: "
              f"{mean['zygote']:.2f} s per submission on average, left out of start)")
    overhead = mean["read"] + mean["start"] + mean["verdict"] + mean["record"]
    print(f"  overhead beyond the notebook's own execution (read + start + verdict + record, over its cells): "
          f"{100 * overhead / own:.0f} % (goal: at most 20 %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--lesson", default="02_perceptron")
    parser.add_argument("--repeats", type=int, default=2,
                        help="runs 4 and 5 each this often, in turn and in alternating order (default 2)")
    parser.add_argument("--stages-into", type=Path, help=argparse.SUPPRESS)  # the staged run, in a process of its own
    parser.add_argument("--release-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--in-kernel", action="store_true", help=argparse.SUPPRESS)  # the staged run of the old path
    args = parser.parse_args()
    lesson = args.lesson
    if args.stages_into:
        return grade_with_stages(lesson, args.workers, args.release_dir, args.stages_into, args.in_kernel)
    staged_runs = [("sandboxed", "in_kernel") if r % 2 == 0 else ("in_kernel", "sandboxed") for r in range(args.repeats)]
    with tempfile.TemporaryDirectory(prefix="nnlab-bench-") as tmp:
        courses = {name: Path(tmp) / name for name in ("plain", "unsandboxed", "cold")}
        courses.update({f"{name}{r}": Path(tmp) / f"{name}{r}" for r in range(args.repeats)
                        for name in ("sandboxed", "in_kernel")})
        for course in courses.values():
            make_class(course, lesson, args.students, like=None if course == courses["plain"] else courses["plain"])
        release = f"--release-dir={courses['plain'] / 'release'}"
        grade = [sys.executable, "-m", "autograder", "grade", lesson, "--no-feedback", f"--workers={args.workers}",
                 release]

        def with_stages(run_name: str, *extra: str) -> float:
            """Runs 4 and 5: this script grades, in a process of its own, timing every stage."""
            return run(sys.executable, Path(__file__).resolve(), f"--lesson={lesson}", f"--workers={args.workers}",
                       release, f"--stages-into={Path(tmp) / f'stages-{run_name}.json'}", *extra,
                       course=courses[run_name], env={"NNLAB_WARM": "1"})
        times = {
            "plain": run(BIN / "nbgrader", "autograde", lesson, course=courses["plain"]),
            "unsandboxed": run(*grade, "--no-sandbox", course=courses["unsandboxed"]),
            "cold": run(*grade, course=courses["cold"], env={"NNLAB_WARM": "0"}),
        }
        repeats: dict[str, list[float]] = {"sandboxed": [], "in_kernel": []}
        for r, order in enumerate(staged_runs):
            for name in order:
                repeats[name].append(with_stages(f"{name}{r}", *(("--in-kernel",) if name == "in_kernel" else ())))
        times.update({name: sum(seconds) / len(seconds) for name, seconds in repeats.items()})
        found = {name: scores(course, lesson) for name, course in courses.items()}
        measured = {name: merged([json.loads((Path(tmp) / f"stages-{name}{r}.json").read_text())
                                  for r in range(args.repeats)]) for name in ("sandboxed", "in_kernel")}
    n = args.students
    per = {name: seconds / n for name, seconds in times.items()}
    print(f"{n} submissions of {lesson}, {os.cpu_count()} cores, pipeline workers: {args.workers}")
    print(f"{'run':<52} {'seconds':>8} {'per submission':>15}")
    names = {"plain": "plain nbgrader autograde (serial)", "unsandboxed": "pipeline, resource limits only",
             "cold": "pipeline, bubblewrap sandbox, cold kernels", "sandboxed": "pipeline, bubblewrap sandbox, warm kernels",
             "in_kernel": "the same, test cells in the kernel (old, unsafe)"}
    for name, label in names.items():
        each = f"   (mean of {', '.join(f'{t:.1f}' for t in repeats[name])})" if name in repeats and args.repeats > 1 else ""
        print(f"{label:<52} {times[name]:>8.1f} {per[name]:>15.2f}{each}")
    if args.repeats > 1:
        print(f"runs 4 and 5 ran {args.repeats} times each, in turn, the order alternating: "
              + ", ".join(" then ".join(order) for order in staged_runs))
    print(f"speed-up of the sandboxed pipeline (warm kernels) over plain nbgrader: {times['plain'] / times['sandboxed']:.2f}x"
          f" (cold kernels: {times['plain'] / times['cold']:.2f}x; goal of issue 21: at least 6x)")
    print(f"sandbox overhead (warm kernels against no sandbox): {100 * (times['sandboxed'] / times['unsandboxed'] - 1):+.1f} %")
    print(f"judge against in-kernel tests: {100 * (times['sandboxed'] / times['in_kernel'] - 1):+.1f} % "
          f"({'not slower' if times['sandboxed'] <= times['in_kernel'] else 'SLOWER'})")
    for name, label in (("sandboxed", "warm run, the judge"), ("in_kernel", "warm run, tests in the kernel (old path)")):
        print_stages(label, measured[name], args.workers)
    same = all(scores_ == found["plain"] for scores_ in found.values())
    print(f"every student has the same score in all {len(found)} runs: {'yes' if same else 'NO'}")
    if not same:
        for name, scores_ in found.items():
            print(f"  {name}: {scores_}")


def merged(runs: list[dict]) -> dict:
    """The staged records of repeated runs as one: every submission of every run, the zygote's mean start."""
    starts = [r["zygote_s"] for r in runs if r["zygote_s"] is not None]
    return {"stages": {f"{i}/{student}": entry for i, r in enumerate(runs) for student, entry in r["stages"].items()},
            "zygote_s": sum(starts) / len(starts) if starts else None}


if __name__ == "__main__":
    main()
