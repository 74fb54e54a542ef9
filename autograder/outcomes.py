"""Typed outcomes of grading one submission: why it lost points, and why its execution stopped.

Every problem the pipeline reports is a ``Problem``: a ``Reason`` (its short key, shown in the
summary table and the result files) and a detail for the instructor's log and the student's report.
Execution that ends before the last cell ends with a ``Stop``: its reason, the cell, and what the
student is told. The executor produces ``Stop`` records; ``verdict`` turns them into test outcomes;
nothing parses a string to learn what happened.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from enum import Enum


class Reason(str, Enum):
    """Why a submission lost points or was not graded as handed in; the value is the key in reports."""
    # refused before anything ran
    MISSING = "missing-notebook"
    UNREADABLE = "unreadable-notebook"     # not JSON, not a notebook, broken structure
    REFUSED = "refused-notebook"           # too large, too many cells, nested too deeply
    # execution stopped
    TIMEOUT = "timeout"
    CPU = "cpu-limit"
    MEMORY = "memory-limit"
    DISK = "disk-limit"
    PROCESSES = "process-limit"
    CRASH = "kernel-crash"
    EXIT = "kernel-exit"
    NO_START = "kernel-did-not-start"
    # execution went on
    FLOOD = "output-flood"                 # output cut at the budget
    SYS_EXIT = "sys-exit"
    TESTS_FAILED = "tests-failed"
    # the grader's own fault: the traceback is in the instructor's log
    GRADER_ERROR = "grader-error"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Problem:
    reason: Reason
    detail: str

    def as_dict(self) -> dict:
        return {"key": self.reason.value, "detail": self.detail}


@dataclass(frozen=True)
class Stop:
    """Why execution ended before the last cell: a bound was hit or the kernel went away."""
    reason: Reason
    cell: int | None          # the index of the cell running when it stopped (None: before the first)
    detail: str = ""          # for the instructor: a bound's value, a measured amount, the kernel's words

    def problem(self) -> Problem:
        where = f"at cell {self.cell}" if self.cell is not None else "before the first cell"
        return Problem(self.reason, f"{where}: {self.detail}" if self.detail else where)

    def student_message(self) -> str:
        """What a test that never ran tells the student."""
        if self.reason in (Reason.CRASH, Reason.EXIT, Reason.CPU) and self.detail.startswith("the kernel"):
            return self.detail
        words = {
            Reason.TIMEOUT: "the notebook ran out of time",
            Reason.CPU: "the notebook used up its CPU time",
            Reason.MEMORY: "the notebook used more memory than allowed",
            Reason.DISK: "the notebook wrote more files or data than allowed",
            Reason.PROCESSES: "the notebook started too many processes",
            Reason.CRASH: "the kernel crashed",
            Reason.EXIT: "the kernel exited",
            Reason.NO_START: "the kernel did not start",
        }.get(self.reason, "the notebook stopped")
        return f"{words} ({self.detail})" if self.detail else words


def exit_stop(status: int | None, cell: int | None) -> Stop:
    """The stop of a kernel that died with ``status`` (bwrap passes the kernel's on; a signal is -n or 128+n)."""
    if status is None:
        return Stop(Reason.CRASH, cell, "the kernel was killed")
    number = -status if status < 0 else status - 128 if status > 128 else None
    if not number:
        return Stop(Reason.EXIT, cell, f"the kernel exited with status {status} (os._exit or exit from C code)")
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if name == "SIGXCPU":
        return Stop(Reason.CPU, cell, f"the kernel used up its CPU time ({name})")
    if name == "SIGXFSZ":
        return Stop(Reason.DISK, cell, f"the kernel wrote a file larger than allowed ({name})")
    meaning = {"SIGSEGV": "crashed (segmentation fault)", "SIGABRT": "aborted",
               "SIGKILL": "was killed (CPU or memory limit)"}.get(name, "was killed")
    return Stop(Reason.CRASH, cell, f"the kernel {meaning} ({name})")
