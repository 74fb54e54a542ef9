"""What each lesson's test cells cost when judged outside the kernel, against running them inside it.

    .venv/bin/python benchmarks/judge_cells.py [lesson ids or prefixes, e.g. 02 11; default: all]

Each lesson's solution runs twice, each time top to bottom in a fresh local kernel (no sandbox):

1. with the judge (``autograder.judge.notebook.run_notebook``): the test cells run in a judge
   process against the kernel, as in a classroom grade; each verdict gives its seconds and its
   exchanges with the kernel (requests, and callbacks into the test's own functions);
2. plain, the test cells executed in the kernel as a learner's notebook runs them.

It prints, per lesson, both totals of the test cells and every cell whose judged time is over
``--over`` seconds (default 0.1), with its exchanges: a test whose loop makes hundreds of exchanges
belongs in an ``@check.in_kernel`` fixture (CONTRIBUTING.md, "Keeps long loops on one side").
A lesson's first test cell also pays the kernel's first imports of what it uses, on the plain run.
Figures are only as quiet as the machine.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from autograder.judge.notebook import is_test_cell, run_notebook  # noqa: E402


def lessons(wanted: list[str]) -> list[str]:
    every = sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").exists())
    return [lesson for lesson in every if not wanted or any(lesson.startswith(w) for w in wanted)]


def judged(lesson: str) -> dict[str, dict]:
    """Each test cell's verdict, the solution run with the judge."""
    solution = nbformat.read(ROOT / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
    release = nbformat.read(ROOT / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
    with tempfile.TemporaryDirectory(prefix="nnlab-judge-cells-") as scratch:
        _, report = run_notebook(solution, release, solution, scratch=Path(scratch))
    return report["verdicts"]


def in_kernel(lesson: str) -> dict[str, float]:
    """Each test cell's seconds, the solution run plainly (the test cells in the kernel)."""
    path = ROOT / "solutions" / lesson / f"{lesson}.ipynb"
    notebook = copy.deepcopy(nbformat.read(path, as_version=4))
    client = NotebookClient(notebook, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    seconds = {}
    with client.setup_kernel(env={**os.environ, "NBGRADER_EXECUTION": "autograde", "MPLBACKEND": "agg"}):
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            started = time.perf_counter()
            client.execute_cell(cell, index)
            if is_test_cell(cell):
                seconds[cell.metadata["nbgrader"]["grade_id"]] = time.perf_counter() - started
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lessons", nargs="*")
    parser.add_argument("--over", type=float, default=0.1, help="list the test cells judged slower than this (s)")
    args = parser.parse_args()
    print(f"{'lesson':<26} {'judged s':>9} {'exchanges':>10} {'in kernel s':>12}")
    for lesson in lessons(args.lessons):
        verdicts, plain = judged(lesson), in_kernel(lesson)
        failed = [g for g, v in verdicts.items() if v["status"] != "passed"]
        print(f"{lesson:<26} {sum(v['seconds'] for v in verdicts.values()):>9.2f} "
              f"{sum(v.get('exchanges', 0) for v in verdicts.values()):>10} {sum(plain.values()):>12.2f}"
              + (f"   NOT PASSED: {', '.join(failed)}" if failed else ""))
        for grade_id, v in verdicts.items():
            if v["seconds"] > args.over:
                print(f"  {grade_id:<36} {v['seconds']:>7.2f} {v.get('exchanges', 0):>10} {plain.get(grade_id, 0):>12.2f}")


if __name__ == "__main__":
    main()
