"""The instructor's commands: python -m autograder {release,collect,grade,worker,feedback,export} …

    python -m autograder release 02_perceptron                 # solutions/ -> release + gradebook
    python -m autograder collect 02_perceptron path/to/folder  # or path/to/lms-download.zip
    python -m autograder grade 02_perceptron                   # parallel, sandboxed; prints a summary
    python -m autograder grade 02_perceptron --broker redis://…  # queued for `python -m autograder worker`s
    python -m autograder feedback 02_perceptron                # HTML feedback per student again
    python -m autograder export grades.csv                     # every grade, from nbgrader

Everything goes to NNLAB_COURSE_DIR (default: .course/ in the repository).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from . import collect, export, lms, summary
from .errors import GraderError
from .limits import MIB, Limits
from .paths import REPOSITORY, course_dir

BROKER_ENV = "NNLAB_BROKER_URL"  # set (as a deployment's Secret does): `grade` queues for the workers


def nbgrader(*args: str) -> None:
    """Run one of nbgrader's own commands from the repository root (where its config lives)."""
    done = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=REPOSITORY)
    if done.returncode != 0:
        raise GraderError(f"nbgrader {args[0]} failed (exit status {done.returncode}); its messages are above")


def grade(args) -> int:
    from .pipeline import Options, Pipeline  # nbclient and nbgrader load only for this command
    if args.broker or args.processes or os.environ.get(BROKER_ENV):
        return queued(args)
    if args.submissions:
        do_collect(argparse.Namespace(lesson=args.lesson, source=args.submissions, lms=args.lms,
                                      roster=args.roster))
    limits = Limits(wall_s=args.timeout, cpu_s=args.cpu, memory_bytes=int(args.memory * (1 << 30)),
                    disk_bytes=int(args.disk * MIB))
    options = Options(workers=args.workers, limits=limits, sandboxed=not args.no_sandbox,
                      feedback=not args.no_feedback, force=args.force, stop_after=args.stop_after,
                      release_dir=args.release_dir, fault_for=frozenset(args.fault_for or ()),
                      in_kernel_tests=args.in_kernel_tests_benchmark_only)
    if args.no_sandbox:
        print("WARNING: --no-sandbox: student code runs with resource limits only; it can read the "
              "solutions and the gradebook and reach the network.", file=sys.stderr)
    results = Pipeline(course_dir(), args.lesson, options, log=lambda line: print(line, flush=True)).grade()
    print()
    print(summary.table(results))
    return 0


def queued(args) -> int:
    """``grade --broker URL`` (Celery workers) or ``--processes N`` (local recorders): see autograder/taskqueue.py."""
    from . import taskqueue
    if args.submissions:
        do_collect(argparse.Namespace(lesson=args.lesson, source=args.submissions, lms=args.lms, roster=args.roster))
    argv = ["grade", args.lesson, f"--timeout={args.timeout}", f"--stall={args.stall}"]
    argv += [f"--processes={args.processes}"] if args.processes else [f"--broker={args.broker or ''}"]
    argv += ["--force"] * args.force + ["--no-feedback"] * args.no_feedback
    argv += [f"--release-dir={args.release_dir}"] if args.release_dir else []
    return taskqueue.main(argv)


def do_collect(args) -> int:
    collect.run(args.lesson, Path(args.source), course_dir(), getattr(args, "lms", lms.DEFAULT),
                getattr(args, "roster", None))
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    steps = main.add_subparsers(dest="step", required=True)
    steps.add_parser("release", help="generate the release and the gradebook entry").add_argument("lesson")
    step = steps.add_parser("collect", help="copy submissions from a folder or an LMS zip")
    step.add_argument("lesson")
    step.add_argument("source", help="a folder of <student>.ipynb or <student>/ folders, or a .zip")
    step.add_argument("--lms", choices=lms.NAMES, default=lms.DEFAULT,
                      help=f"how the .zip names its files (default: {lms.DEFAULT}); see autograder/lms.py")
    step.add_argument("--roster", type=Path, help="an LMS export mapping its ids to students (see autograder/lms.py)")
    step = steps.add_parser("grade", help="autograde every submission in parallel, sandboxed")
    step.add_argument("lesson")
    step.add_argument("submissions", nargs="?", help="collect from this folder or zip first")
    step.add_argument("--lms", choices=lms.NAMES, default=lms.DEFAULT, help="with a .zip: as in collect")
    step.add_argument("--roster", type=Path, help="with a .zip: as in collect")
    default = Limits()
    step.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel kernels (default: cores)")
    step.add_argument("--timeout", type=float, default=default.wall_s, help="seconds per notebook")
    step.add_argument("--cpu", type=int, default=default.cpu_s, help="CPU seconds per kernel")
    step.add_argument("--memory", type=float, default=default.memory_bytes / (1 << 30),
                      help="GiB for all of a notebook's processes together")
    step.add_argument("--disk", type=float, default=default.disk_bytes / MIB,
                      help="MiB a notebook may write (its working folder is a tmpfs of this size)")
    step.add_argument("--no-sandbox", action="store_true", help="without bubblewrap: resource limits only")
    step.add_argument("--no-feedback", action="store_true", help="skip the HTML feedback")
    step.add_argument("--in-kernel-tests-benchmark-only", action="store_true",
                      help="UNSAFE, for benchmarks/grading.py's comparison only: run the test cells inside the "
                           "student's kernel (the old path) instead of the judge")
    step.add_argument("--force", action="store_true", help="regrade students already graded")
    step.add_argument("--stop-after", type=int, help=argparse.SUPPRESS)  # test hook: simulate a crash
    step.add_argument("--fault-for", action="append", help=argparse.SUPPRESS)  # test hook: a grader fault
    step.add_argument("--release-dir", type=Path, help="release notebooks (default: lessons/)")
    step.add_argument("--broker", help="queue one task per submission on this Redis broker for `worker`s "
                                       f"(default: {BROKER_ENV} when set; without either, grade here)")
    step.add_argument("--processes", type=int, help="without --broker: this many local processes record into the "
                                                    "PostgreSQL gradebook at once (NNLAB_DB_URL)")
    step.add_argument("--stall", type=float, default=600, help="with --broker: seconds without progress before "
                                                               "the run stops (default 600); run it again to resume")
    step = steps.add_parser("worker", help="a Celery worker: executes and judges queued submissions, sandboxed")
    step.add_argument("--broker", help=f"the Redis broker (default: {BROKER_ENV})")
    step.add_argument("--concurrency", type=int, default=os.cpu_count() or 1, help="submissions at once (default: cores)")
    step.add_argument("--visibility-timeout", type=float, help="seconds before an unacknowledged task goes to "
                                                               "another worker (default: from the time limit)")
    step.add_argument("--loglevel", default="WARNING")
    step = steps.add_parser("feedback", help="nbgrader generate_feedback; --zip: also a zip for the LMS upload")
    step.add_argument("lesson")
    step.add_argument("--zip", type=Path, help="write the feedback files into this zip, named for --lms")
    step.add_argument("--lms", choices=("canvas", "moodle"), default="canvas", help="whose bulk upload (default: canvas)")
    step = steps.add_parser("export", help="nbgrader export to CSV, plus Canvas/Moodle import CSVs")
    step.add_argument("csv", type=Path)
    step.add_argument("--format", action="append", choices=export.FORMATS, default=[],
                      help="also write <csv stem>-canvas.csv / -moodle.csv next to it (repeatable)")
    step.add_argument("--lesson", help="only this lesson")
    step.add_argument("--roster", type=Path, help="an LMS export with the identities nbgrader lacks")
    return main


def main(argv=None) -> int:
    """Parse, run the step; the pipeline's one error type is caught here, and only here."""
    args = parser().parse_args(argv)
    try:
        return dispatch(args)
    except GraderError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2


def dispatch(args) -> int:
    if args.step == "release":
        nbgrader("generate_assignment", args.lesson, "--force")
    elif args.step == "collect":
        return do_collect(args)
    elif args.step == "grade":
        return grade(args)
    elif args.step == "worker":
        from . import taskqueue
        visibility = [f"--visibility-timeout={args.visibility_timeout}"] if args.visibility_timeout else []
        return taskqueue.main(["worker", f"--broker={args.broker or ''}", f"--concurrency={args.concurrency}",
                               f"--loglevel={args.loglevel}", *visibility])
    elif args.step == "feedback":
        nbgrader("generate_feedback", args.lesson, "--force",
                 "--GenerateFeedback.preprocessors=['nbgrader.preprocessors.ClearHiddenTests',"
                 "'nbgrader.preprocessors.GetGrades','nbconvert.preprocessors.CSSHTMLHeaderPreprocessor']",
                 "--ClearHiddenTests.enforce_metadata=False")
        if args.zip:
            export.feedback_zip(course_dir(), args.lesson, args.zip, args.lms)
    elif args.step == "export":
        export.run(args.csv, course_dir(), args.format, args.lesson, args.roster)
    return 0


if __name__ == "__main__":
    sys.exit(main())
