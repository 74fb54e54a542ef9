"""Print how long each solution notebook takes to execute, and how long `import nnlab` takes.

    make bench        (or: .venv/bin/python benchmarks/notebooks.py)

Each notebook runs once, top to bottom, in a fresh kernel, as nbval and nbgrader run it. The
goals: every notebook under 60 s and `import nnlab` under 0.2 s on a 2-core CPU.
"""

import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def import_time() -> float:
    """Seconds for `import nnlab` in a fresh interpreter (best of five), checking torch stays out."""
    code = ("import time, sys; t = time.perf_counter(); import nnlab; "
            "print(time.perf_counter() - t, 'torch' in sys.modules)")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            .stdout.split() for _ in range(5)]
    assert all(flag == "False" for _, flag in runs), "import nnlab imported torch"
    return min(float(seconds) for seconds, _ in runs)


def notebook_time(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def main() -> None:
    print(f"{'what':<40} {'seconds':>8}")
    print(f"{'import nnlab (no torch)':<40} {import_time():>8.3f}")
    total = 0.0
    for path in sorted(ROOT.glob("solutions/*/*.ipynb")):
        seconds = notebook_time(path)
        total += seconds
        print(f"{path.parent.name + ' (execute)':<40} {seconds:>8.2f}")
    print(f"{'all solution notebooks':<40} {total:>8.2f}")


if __name__ == "__main__":
    main()
