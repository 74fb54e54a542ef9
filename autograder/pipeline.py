"""Grade every submission of one lesson: restore, then execute (in parallel, sandboxed), then record.

For each student, in the main thread: read and restore the notebook, scan it (``policy``). Then the
notebooks that may run go to a pool of workers, each executing one notebook at a time in its own
sandboxed kernel. As each execution finishes, the main thread (the only gradebook writer) turns
it into nbgrader's verdict, records it, writes feedback, and then, atomically, the student's result
file. That file is what makes a run idempotent and resumable: a student whose result file matches
the submission's fingerprint is skipped; a run killed midway loses only students without a result
file, and nbgrader's forced autograde replaces, never duplicates, what a killed run half wrote.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import queue
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import policy, restore, sandbox, submission, verdict
from .execute import execute, is_test_cell
from .gradebook import REPOSITORY, Recorder
from .limits import Limits

TAMPERING, UNREADABLE, MISSING, TESTS_FAILED = "tampering", "unreadable-notebook", "missing-notebook", "tests-failed"


@dataclass
class Options:
    workers: int = os.cpu_count() or 1
    limits: Limits = field(default_factory=Limits)
    sandboxed: bool = True
    feedback: bool = True
    force: bool = False               # regrade students whose result is up to date
    stop_after: int | None = None     # test hook: exit abruptly after recording this many students
    release_dir: Path | None = None   # where the release notebooks are (default: nbgrader's, lessons/)


@dataclass
class Job:
    """One student's way through the pipeline."""
    submission: submission.Submission
    fingerprint: str
    notebook: object = None           # the restored notebook to execute, or the verdict to record
    run: bool = False                 # False: record ``notebook`` as it is (not run)
    reasons: list = field(default_factory=list)   # (key, detail)
    notes: list = field(default_factory=list)
    seconds: float = 0.0


class Pipeline:
    def __init__(self, course: Path, assignment: str, options: Options, log=print):
        self.course, self.assignment, self.options, self.log = course, assignment, options, log
        self.notebook = assignment  # one notebook per lesson, named like it
        self.recorder = Recorder(course, assignment, self.notebook)
        self.results = course / "pipeline" / "results" / assignment
        self.release = nbformat.read(self._release_path(), as_version=4)
        self.reference = restore.with_hidden_tests(self.release, self.recorder.test_sources())
        self.settings = json.dumps({"limits": options.limits.as_dict(), "sandboxed": options.sandboxed,
                                    "reference": hashlib.sha256(nbformat.writes(self.reference).encode()).hexdigest()})

    def _release_path(self) -> Path:
        release_dir = self.options.release_dir or Path(self.recorder.coursedir.release_directory)
        if not release_dir.is_absolute():
            release_dir = Path(self.recorder.coursedir.root) / release_dir
        return release_dir / self.assignment / f"{self.notebook}.ipynb"

    # -- the run ---------------------------------------------------------------------------------

    def grade(self, students: list[str] | None = None) -> list[dict]:
        """Grade (or skip, when up to date) every submission; return every student's result."""
        if self.options.sandboxed:
            sandbox.require_bwrap()
        subs = submission.all_in(self.course / "submitted", self.assignment, f"{self.notebook}.ipynb")
        subs = [s for s in subs if students is None or s.student in students]
        jobs = [Job(s, s.fingerprint(self.settings)) for s in subs]
        todo = [j for j in jobs if self.options.force or not self._up_to_date(j)]
        self.log(f"{self.assignment}: {len(jobs)} submissions, {len(jobs) - len(todo)} already graded, "
                 f"{len(todo)} to grade with {self.options.workers} workers"
                 f"{'' if self.options.sandboxed else ' WITHOUT SANDBOX'}")
        for job in todo:
            self._prepare(job)
        self._run(todo, total=len(todo))
        return [json.loads(self._result_path(j.submission.student).read_text()) for j in jobs
                if self._result_path(j.submission.student).exists()]

    def _run(self, jobs: list[Job], total: int) -> None:
        """Execute the runnable jobs in parallel and record every job, in completion order."""
        slots: queue.Queue = queue.Queue()
        uids, locks = sandbox.claim_uids(self.options.workers) if self._drops_privileges() else ([], [])
        for slot in range(self.options.workers):
            slots.put(uids[slot] if uids else None)
        done = 0
        with tempfile.TemporaryDirectory(prefix="nnlab-grade-") as scratch_root, \
                ThreadPoolExecutor(self.options.workers) as pool:
            futures = [pool.submit(self._execute, job, Path(scratch_root), slots) for job in jobs if job.run]
            for job in (j for j in jobs if not j.run):
                done = self._record(job, done, total)
            for future in as_completed(futures):
                done = self._record(future.result(), done, total)
        for lock in locks:
            lock.close()

    def _drops_privileges(self) -> bool:
        """Kernels run as unprivileged users of their own when grading as root in the sandbox."""
        return self.options.sandboxed and sandbox.as_root()

    def _execute(self, job: Job, scratch_root: Path, slots: queue.Queue) -> Job:
        """In a worker thread: run the job's notebook in a sandboxed kernel, then derive its verdict."""
        uid = slots.get()
        scratch = scratch_root / f"{job.submission.student}"
        started = time.monotonic()
        try:
            executed = job.notebook
            report = asyncio.run(execute(executed, scratch, kernel=self._kernel(), limits=self.options.limits,
                                         uid=uid, sandboxed=self.options.sandboxed,
                                         hidden=[REPOSITORY, self.course]))
            job.reasons += verdict.reasons(executed, report)
            job.notebook = verdict.for_nbgrader(executed, report, self.options.limits.wall_s)
        except Exception as error:  # the grader itself failed on this notebook: say so, go on
            job.reasons.append(("grader-error", f"{type(error).__name__}: {error}"[:500]))
            job.notebook = verdict.unrun(self.reference, "the grader could not run this notebook")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            slots.put(uid)
        job.seconds = time.monotonic() - started
        return job

    def _kernel(self) -> str:
        return self.reference.metadata.get("kernelspec", {}).get("name", "python3")

    # -- before execution ------------------------------------------------------------------------

    def _prepare(self, job: Job) -> None:
        """Read, restore and scan the submission; decide whether it runs or is recorded as is."""
        sub = job.submission
        job.notes += sub.notes
        if sub.notebook is None:
            job.reasons.append((MISSING, f"no notebook named {self.notebook}.ipynb in the submission"))
            job.notebook = verdict.unrun(self.reference, f"no notebook was found: {'; '.join(sub.notes) or 'empty'}")
            return
        try:
            student, notes = restore.read(sub.data())
        except restore.Unreadable as error:
            job.reasons.append((UNREADABLE, str(error)))
            job.notebook = verdict.unrun(self.reference, f"your notebook could not be read: {error}")
            return
        restored, restored_notes = restore.restore(student, self.reference, self.release)
        job.notes += notes + restored_notes
        found = policy.violations(self._student_code(restored), self._instructor_code(), self._test_code())
        if found:
            job.reasons.append((TAMPERING, "; ".join(found[:5])))
            job.notebook = verdict.unrun(restored, "not graded: the notebook tampers with the grading ("
                                         + "; ".join(found[:5]) + ")")
            return
        job.notebook, job.run = restored, True

    def _student_code(self, restored) -> list[str]:
        """Code cells the student wrote or changed: answers and any cell not identical to the release's."""
        released = {c.source for c in self.release.cells if c.cell_type == "code"}
        return [c.source for c in restored.cells if c.cell_type == "code" and not is_test_cell(c)
                and (restore.is_answer(c) or c.source not in released)]

    def _instructor_code(self) -> list[str]:
        return [c.source for c in self.reference.cells if c.cell_type == "code" and not restore.is_answer(c)]

    def _test_code(self) -> list[str]:
        return [c.source for c in self.reference.cells if is_test_cell(c)]

    # -- recording (main thread only: the single gradebook writer) ----------------------------------

    def _record(self, job: Job, done: int, total: int) -> int:
        sub = job.submission
        scores = self.recorder.record(sub.student, job.notebook, sub.timestamp, self.options.feedback)
        auto = {k: v for k, v in scores.items() if v is not None}
        failed = [k for k, v in scores.items() if self._is_test(k) and v is not None and v < self._points(k)]
        reasons = list(job.reasons)
        if failed and not reasons:
            reasons.append((TESTS_FAILED, ", ".join(failed)))
        result = {"student": sub.student, "assignment": self.assignment, "fingerprint": job.fingerprint,
                  "score": sum(auto.values()), "max_score": self._max_score(), "scores": scores,
                  "reasons": [{"key": k, "detail": d} for k, d in reasons], "notes": job.notes,
                  "seconds": round(job.seconds, 2), "sandboxed": self.options.sandboxed}
        self._write_result(result)
        done += 1
        key = ", ".join(k for k, _ in reasons) or "ok"
        self.log(f"[{done:>3}/{total}] {sub.student:<24} {result['score']:>5g}/{result['max_score']:g}  "
                 f"{key}  ({job.seconds:.1f} s)")
        if self.options.stop_after is not None and done >= self.options.stop_after:
            sys.stdout.flush()
            os._exit(75)  # test hook: an abrupt end, as if the machine went down
        return done

    def _is_test(self, grade_id: str) -> bool:
        return any(restore.grading_meta(c).get("grade_id") == grade_id and is_test_cell(c) for c in self.reference.cells)

    def _points(self, grade_id: str) -> float:
        return next(float(restore.grading_meta(c).get("points", 0)) for c in self.reference.cells
                    if restore.grading_meta(c).get("grade_id") == grade_id)

    def _max_score(self) -> float:
        """The autograded points (written answers, graded by hand later, are not counted here)."""
        return sum(float(restore.grading_meta(c).get("points", 0)) for c in self.reference.cells
                   if is_test_cell(c))

    def _result_path(self, student: str) -> Path:
        return self.results / f"{student}.json"

    def _write_result(self, result: dict) -> None:
        """Atomically: a killed run leaves either the old result or the new one, never half of one."""
        self.results.mkdir(parents=True, exist_ok=True)
        path = self._result_path(result["student"])
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=1))
        os.replace(tmp, path)
        if self.options.feedback:
            report = self.course / "feedback" / result["student"] / self.assignment / "grading_report.txt"
            if report.parent.is_dir():
                report.write_text(student_report(result))

    def _up_to_date(self, job: Job) -> bool:
        path = self._result_path(job.submission.student)
        if not path.exists():
            return False
        try:
            recorded = json.loads(path.read_text())
            self.recorder.scores(job.submission.student)  # and the gradebook still has it
        except Exception:
            return False
        return recorded.get("fingerprint") == job.fingerprint


def student_report(result: dict) -> str:
    """The per-student report: score, each exercise, and every reason and note."""
    lines = [f"{result['student']}: {result['score']:g} / {result['max_score']:g} (autograded part)"]
    lines += [f"  {cell}: {'waits for manual grading' if score is None else f'{score:g}'}"
              for cell, score in result["scores"].items()]
    lines += [f"  problem ({r['key']}): {r['detail']}" for r in result["reasons"]]
    lines += [f"  note: {n}" for n in result["notes"]]
    return "\n".join(lines) + "\n"
