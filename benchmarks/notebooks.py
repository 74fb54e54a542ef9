"""Print how long `import nnlab` and each solution notebook take, and where the slowest notebooks spend it.

    make bench        (or: .venv/bin/python benchmarks/notebooks.py [--slowest 3] [--cells 3])

Each notebook runs once, top to bottom, in a fresh kernel, as nbgrader runs it: with nobody to
watch them, the explorers draw their figure once instead of showing widgets (NNLAB_STATIC=1, as
NBGRADER_EXECUTION does under nbgrader). With widgets, nbclient sometimes sat out its whole
timeout on an explorer's cell (300 s on lesson 01's, twice in four runs; nbclient issue #312). The
slowest are broken down into: kernel start-up, the first code cell (imports and set-up), their
slowest other cells (labelled with the heading they sit under and their first line of code), the
remaining cells, and the kernel's shutdown. A cell has two times: "wall", from nbclient sending it
to nbclient having its reply and all its output, and "kernel", what the kernel itself took (busy to
execute_reply, the timestamps nbclient records in the cell's metadata "execution"); a gap between
the two is time lost in messaging.
The goals on a 2-core CPU: `import nnlab` under 0.2 s without importing torch, every notebook under
60 s, all of them under 8 min.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
IMPORT_GOAL, NOTEBOOK_GOAL, SERIES_GOAL = 0.2, 60.0, 8 * 60.0


@dataclass
class Cell:
    index: int        # position in the notebook (markdown cells included)
    wall: float       # nbclient's clock: sent -> reply and output received
    kernel: float     # the kernel's clock: busy -> execute_reply
    section: str      # the last markdown heading above the cell
    line: str         # its first line of code


@dataclass
class Run:
    name: str
    seconds: float    # wall time, kernel start to shutdown
    startup: float    # until the new kernel answered
    shutdown: float   # from the last cell's output to the end
    cells: list[Cell]


def import_time() -> tuple[float, bool]:
    """Seconds for `import nnlab` in a fresh interpreter (best of five), and whether torch stayed out."""
    code = ("import time, sys; t = time.perf_counter(); import nnlab; "
            "print(time.perf_counter() - t, 'torch' in sys.modules)")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            .stdout.split() for _ in range(5)]
    return min(float(seconds) for seconds, _ in runs), all(flag == "False" for _, flag in runs)


def first_line(source: str) -> str:
    """The cell's first line of code, skipping comments and the imports that open most check cells."""
    lines = [line.strip() for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    code = [line for line in lines if not line.startswith(("import ", "from "))] or lines or [""]
    return code[0]


def imported(source: str) -> str:
    """'imports numpy, torch, ...': the top-level modules a cell imports, in order."""
    names = [line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))]
    return "imports " + ", ".join(dict.fromkeys(names))


def kernel_seconds(cell) -> float:
    stamps = cell.metadata.get("execution", {})
    if "iopub.status.busy" not in stamps or "shell.execute_reply" not in stamps:
        return 0.0
    began, ended = (datetime.fromisoformat(stamps[key]) for key in ("iopub.status.busy", "shell.execute_reply"))
    return (ended - began).total_seconds()


def execute(path: Path) -> Run:
    """Run the notebook once in a fresh kernel; its wall time, start-up time and the time of each code cell."""
    notebook = nbformat.read(path, as_version=4)
    ready, clock = [], {}   # when the kernel answered; for each code cell's index, [sent, done]
    client = NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(path.parent)}},
                            on_notebook_start=lambda **_: ready.append(time.perf_counter()),
                            on_cell_execute=lambda cell_index, **_: clock.setdefault(cell_index, [time.perf_counter()]),
                            on_cell_executed=lambda cell_index, **_: clock[cell_index].append(time.perf_counter()))
    start = time.perf_counter()
    client.execute(stderr=subprocess.DEVNULL)   # the kernel's own warnings would break up the table
    end = time.perf_counter()
    cells, section = [], ""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            headings = [line.lstrip("#").strip() for line in cell.source.splitlines() if line.startswith("#")]
            section = re.sub(r"\s*\(\d+ points?\)$", "", headings[-1]) if headings else section
        elif cell.cell_type == "code":
            line = first_line(cell.source) if cells else imported(cell.source)   # the first one: its imports
            sent, done = clock.get(index, (0.0, 0.0))   # an empty cell is not sent
            cells.append(Cell(index, done - sent, kernel_seconds(cell), section, line))
    last = max(done for sent, done in clock.values())
    return Run(path.parent.name, end - start, ready[0] - start, end - last, cells)


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def breakdown(run: Run, top: int) -> None:
    """Kernel start-up, the first code cell, the `top` slowest other cells, the other cells, the shutdown."""
    imports, others = run.cells[0], sorted(run.cells[1:], key=lambda c: c.wall, reverse=True)
    shown, rest = others[:top], others[top:]
    between = run.seconds - run.startup - run.shutdown - sum(c.wall for c in run.cells)   # nbclient's own steps
    rows = [(run.startup, None, "", "kernel start-up", "")]
    rows += [(imports.wall, imports.kernel, imports.index, "imports and set-up (first code cell)", imports.line)]
    rows += [(c.wall, c.kernel, c.index, c.section, c.line) for c in shown]
    rows += [(sum(c.wall for c in rest) + between, sum(c.kernel for c in rest), "",
              f"the other {len(rest)} code cells", ""),
             (run.shutdown, None, "", "kernel shutdown", "")]
    print(f"\n{run.name}: {run.seconds:.1f} s")
    print(f"  {'wall s':>7} {'share':>5} {'kernel s':>8} {'cell':>4}  {'section':<44} first line of code")
    for wall, kernel, index, section, line in rows:
        kernel = f"{kernel:>8.2f}" if kernel is not None else f"{'':>8}"
        print(f"  {wall:>7.2f} {wall / run.seconds:>5.0%} {kernel} {index:>4}  {cut(section, 44):<44} {cut(line, 56)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slowest", type=int, default=3, help="notebooks to break down (default 3)")
    parser.add_argument("--cells", type=int, default=3, help="slowest cells shown per notebook, besides the imports")
    args = parser.parse_args()
    os.environ["NNLAB_STATIC"] = "1"   # the kernels inherit it: static explorers, see above

    seconds, no_torch = import_time()
    verdict = "ok" if seconds < IMPORT_GOAL and no_torch else "OVER GOAL"
    print(f"import nnlab, fresh interpreter, best of 5: {seconds:.3f} s (goal < {IMPORT_GOAL} s: {verdict}); "
          f"imports torch: {'no' if no_torch else 'YES'}")

    print(f"\nsolution notebooks, each executed once in a fresh kernel, {os.cpu_count()} cores "
          f"(goal < {NOTEBOOK_GOAL:.0f} s each, < {SERIES_GOAL / 60:.0f} min in all)")
    print(f"{'notebook':<28} {'seconds':>8}  goal")
    runs = []
    for path in sorted(ROOT.glob("solutions/*/*.ipynb")):
        runs.append(execute(path))
        over = runs[-1].seconds >= NOTEBOOK_GOAL
        print(f"{runs[-1].name:<28} {runs[-1].seconds:>8.1f}  {'OVER 60 s' if over else 'ok'}", flush=True)
    total = sum(run.seconds for run in runs)
    print(f"{f'all {len(runs)} notebooks':<28} {total:>8.1f}  {'OVER 8 min' if total >= SERIES_GOAL else 'ok'}")

    print(f"\nwhere the {args.slowest} slowest notebooks spend their time (cell: its index in the notebook; "
          f"wall: nbclient's clock; kernel: the kernel's own)")
    for run in sorted(runs, key=lambda r: r.seconds, reverse=True)[:args.slowest]:
        breakdown(run, args.cells)


if __name__ == "__main__":
    main()
