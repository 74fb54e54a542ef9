"""How fast the grading pipeline grades a class, against plain serial `nbgrader autograde`.

    .venv/bin/python benchmarks/grading.py [--students 40] [--workers N] [--lesson 02_perceptron]

One generated class (the lesson's model answers, blank releases, half-right and plausible-but-wrong
answers, in turn) is graded four times on this machine, each in a fresh course folder:

1. plain `nbgrader autograde <lesson>`: one submission after another, no isolation;
2. `python -m autograder grade --no-sandbox`: the pipeline, parallel, resource limits only;
3. `python -m autograder grade`: the pipeline, parallel, in bubblewrap, the test cells judged outside
   the kernel (issue 14);
4. the same with `--in-kernel-tests-benchmark-only`: the old path, test cells run inside the
   student's kernel, kept for this comparison alone (it is not safe against a student).

It prints the four times, the speed-up of (3) over (1), the sandbox's overhead, (3) against (2),
the judge against the in-kernel tests, (3) against (4), and checks that all four gave every
student the same score. Feedback is left out of every
run (it is a separate step in plain nbgrader too). Figures are only as quiet as the machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.submissions import fill_answers, model_answers  # noqa: E402
from test_grading_cycle import HALF_RIGHT, PLAUSIBLE_BUT_WRONG  # noqa: E402

BIN = Path(sys.executable).parent


def run(*args, course: Path) -> float:
    """Run a command of the environment with ``course`` as the class folder; return its seconds."""
    env = {**os.environ, "NNLAB_COURSE_DIR": str(course), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    started = time.perf_counter()
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{args[0]} {args[1]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def make_class(course: Path, lesson: str, students: int) -> None:
    """The assignment in the gradebook, and ``students`` submissions, mixed correct and wrong."""
    release_dir = course / "release"
    run(BIN / "nbgrader", "generate_assignment", lesson, "--force",
        f"--CourseDirectory.release_directory={release_dir}", course=course)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--lesson", default="02_perceptron")
    args = parser.parse_args()
    lesson = args.lesson
    with tempfile.TemporaryDirectory(prefix="nnlab-bench-") as tmp:
        courses = {name: Path(tmp) / name for name in ("plain", "unsandboxed", "sandboxed", "in_kernel")}
        for course in courses.values():
            make_class(course, lesson, args.students)
        grade = [sys.executable, "-m", "autograder", "grade", lesson, "--no-feedback",
                 f"--workers={args.workers}", f"--release-dir={courses['plain'] / 'release'}"]
        times = {
            "plain": run(BIN / "nbgrader", "autograde", lesson, course=courses["plain"]),
            "unsandboxed": run(*grade, "--no-sandbox", course=courses["unsandboxed"]),
            "sandboxed": run(*grade, course=courses["sandboxed"]),
            "in_kernel": run(*grade, "--in-kernel-tests-benchmark-only", course=courses["in_kernel"]),
        }
        agree = scores(courses["plain"], lesson) == scores(courses["sandboxed"], lesson) \
            == scores(courses["unsandboxed"], lesson) == scores(courses["in_kernel"], lesson)
    per = {name: seconds / args.students for name, seconds in times.items()}
    print(f"{args.students} submissions of {lesson}, {os.cpu_count()} cores, pipeline workers: {args.workers}")
    print(f"{'run':<44} {'seconds':>8} {'per submission':>15}")
    print(f"{'plain nbgrader autograde (serial)':<44} {times['plain']:>8.1f} {per['plain']:>15.2f}")
    print(f"{'pipeline, resource limits only':<44} {times['unsandboxed']:>8.1f} {per['unsandboxed']:>15.2f}")
    print(f"{'pipeline, bubblewrap sandbox, judge':<44} {times['sandboxed']:>8.1f} {per['sandboxed']:>15.2f}")
    print(f"{'pipeline, bubblewrap, in-kernel tests (old)':<44} {times['in_kernel']:>8.1f} {per['in_kernel']:>15.2f}")
    print(f"speed-up of the sandboxed pipeline over plain nbgrader: {times['plain'] / times['sandboxed']:.2f}x")
    print(f"sandbox overhead: {100 * (times['sandboxed'] / times['unsandboxed'] - 1):+.1f} %")
    print(f"judge against in-kernel tests: {100 * (times['sandboxed'] / times['in_kernel'] - 1):+.1f} % "
          f"({'not slower' if times['sandboxed'] <= times['in_kernel'] else 'SLOWER'})")
    print(f"every student has the same score in all four runs: {'yes' if agree else 'NO'}")


if __name__ == "__main__":
    main()
