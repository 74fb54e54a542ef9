"""Grade every submission of one lesson: read, restore, execute (in parallel, sandboxed), decide, record.

For each student, in the main thread: read the notebook in bounded time and memory (``intake``),
restore the instructor's cells (``restore``). Then the notebooks go to a pool of workers, each
executing one notebook at a time in its own sandboxed kernel (``execute``) with the student's own
judge process beside it (``judge``), which runs the test cells, hidden parts included, outside the
kernel: the student's code can change what its functions return, never how they are judged. As each execution finishes, the main thread (the only gradebook writer) turns it into
nbgrader's verdict (``verdict``), records it, sanitised (``gradebook``, ``sanitise``), writes
feedback, and then, atomically, the student's result file.

One student is never the class's problem: whatever goes wrong for one student (a refused file, a
kernel that dies, an exception inside the grader itself) becomes that student's score and reason,
and the instructor's log (``Course.log``) names every refusal and holds every traceback; the run
goes on for everyone else. The submitted folders are only read: each original stays byte for byte.

The result file is what makes a run idempotent and resumable: a student whose result file matches
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
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat

from . import bounds, intake, restore, sandbox, submission, verdict
from . import cells as nb
from .execute import execute
from .judge import process as judges
from .judge.notebook import fixtures_of, tests_of
from .gradebook import Recorder
from .limits import Limits
from .outcomes import Problem, Reason
from .paths import REPOSITORY, Course


@dataclass
class Options:
    workers: int = os.cpu_count() or 1
    limits: Limits = field(default_factory=Limits)
    sandboxed: bool = True
    feedback: bool = True
    force: bool = False               # regrade students whose result is up to date
    stop_after: int | None = None     # test hook: exit abruptly after recording this many students
    release_dir: Path | None = None   # where the release notebooks are (default: nbgrader's, lessons/)
    fault_for: frozenset = frozenset()  # test hook: students whose recording fails inside the grader
    # benchmarks/grading.py's comparison ONLY: the old path, test cells run inside the student's kernel
    # (unsafe: issue 14 lists how a student made such tests pass); never for a class
    in_kernel_tests: bool = False


@dataclass
class Job:
    """One student's way through the pipeline."""
    submission: submission.Submission
    fingerprint: str = ""
    notebook: object = None           # the restored notebook to execute, or the verdict to record
    run: bool = False                 # False: record ``notebook`` as it is (not run)
    problems: list = field(default_factory=list)   # Problem
    notes: list = field(default_factory=list)
    seconds: float = 0.0


class Pipeline:
    def __init__(self, course: Path | Course, assignment: str, options: Options, log=print):
        self.course = course if isinstance(course, Course) else Course(Path(course))
        self.assignment, self.options, self.echo = assignment, options, log
        self.notebook = assignment  # one notebook per lesson, named like it
        self.journal = self.course.log(assignment)
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        self.results = self.course.results(assignment)
        self.recorder = Recorder(self.course, assignment, self.notebook)
        self.release = nbformat.read(self._release_path(), as_version=4)
        self.recorder.trusted = {c.source for c in self.release.cells}
        self.reference = restore.with_hidden_tests(self.release, self.recorder.test_sources())
        self.tests = {nb.grade_id(c): nb.points(c) for c in self.reference.cells if nb.is_test(c)}
        self.fixtures, self.test_sources = fixtures_of(self.release), tests_of(self.reference)
        self.settings = json.dumps({"limits": options.limits.as_dict(), "sandboxed": options.sandboxed,
                                    "judged": not options.in_kernel_tests,
                                    "reference": hashlib.sha256(nbformat.writes(self.reference).encode()).hexdigest()})

    def _release_path(self) -> Path:
        release_dir = self.options.release_dir or Path(self.recorder.coursedir.release_directory)
        if not release_dir.is_absolute():
            release_dir = Path(self.recorder.coursedir.root) / release_dir
        return release_dir / self.assignment / f"{self.notebook}.ipynb"

    def log(self, line: str, *, also_console: bool = True) -> None:
        """A line for the instructor: on the console, and in the log file with the time."""
        if also_console:
            self.echo(line)
        with open(self.journal, "a", encoding="utf-8") as file:
            file.write(f"{datetime.now().isoformat(timespec='seconds')} {line}\n")

    # -- the run ---------------------------------------------------------------------------------

    def grade(self, students: list[str] | None = None) -> list[dict]:
        """Grade (or skip, when up to date) every submission; return every student's result."""
        if self.options.sandboxed:
            sandbox.require_bwrap()
        subs = submission.all_in(self.course.submitted, self.assignment, f"{self.notebook}.ipynb")
        subs = [s for s in subs if students is None or s.student in students]
        jobs = [Job(s, s.fingerprint(self.settings)) for s in subs]
        todo = [j for j in jobs if self.options.force or not self._up_to_date(j)]
        why = bounds.cgroup_v2_unavailable()
        self.log(f"{self.assignment}: {len(jobs)} submissions, {len(jobs) - len(todo)} already graded, "
                 f"{len(todo)} to grade with {self.options.workers} workers"
                 f"{'' if self.options.sandboxed else ' WITHOUT SANDBOX'}")
        self.log(f"bounds per submission: {self.options.limits.as_dict()}; memory counted over the whole "
                 f"process tree, polled{f' ({why})' if why else ''}", also_console=False)
        if todo and not self.options.in_kernel_tests:
            # the judges' server loads what the tests import while the notebooks are read
            judges.warm_up(judges.preload_for([*self.fixtures, *self.test_sources.values()]))
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
        try:
            with tempfile.TemporaryDirectory(prefix="nnlab-grade-") as scratch_root, \
                    ThreadPoolExecutor(self.options.workers) as pool:
                futures = [pool.submit(self._execute, job, Path(scratch_root), slots) for job in jobs if job.run]
                for job in (j for j in jobs if not j.run):
                    done = self._record(job, done, total)
                for future in as_completed(futures):
                    done = self._record(future.result(), done, total)
        finally:
            for lock in locks:
                lock.close()

    def _drops_privileges(self) -> bool:
        """Kernels run as unprivileged users of their own when grading as root in the sandbox."""
        return self.options.sandboxed and sandbox.as_root()

    def _grader_error(self, job: Job, step: str, error: BaseException) -> None:
        """The grader itself failed on this student: their problem, the traceback in the log; the run goes on."""
        job.problems.append(Problem(Reason.GRADER_ERROR, f"{step}: {type(error).__name__}: {error}"[:500]))
        self.log(f"GRADER ERROR {job.submission.student} ({step}):\n"
                 + "".join(traceback.format_exception(error)).rstrip(), also_console=False)

    def _execute(self, job: Job, scratch_root: Path, slots: queue.Queue) -> Job:
        """In a worker thread: run the job's notebook in a sandboxed kernel, then derive its verdict."""
        uid = slots.get()
        scratch = scratch_root / hashlib.sha256(job.submission.student.encode()).hexdigest()[:16]
        started = time.monotonic()
        try:
            run = asyncio.run(execute(job.notebook, scratch, kernel=self._kernel(), limits=self.options.limits,
                                      uid=uid, sandboxed=self.options.sandboxed,
                                      hidden=[REPOSITORY, self.course.root], judge=self._judge()))
            job.problems += verdict.problems(run)
            job.notebook, notes = verdict.for_nbgrader(run)
            job.notes += notes
            for note in run.judge_notes:  # the release's own, the same for every student: the log only
                self.log(f"{job.submission.student}: judge: {note}", also_console=False)
            if run.stop or run.cut:
                self.log(f"{job.submission.student}: {'; '.join(p.detail for p in verdict.problems(run))}; "
                         f"kernel output: {run.kernel_log[-300:]!r}", also_console=False)
        except Exception as error:  # the grader itself failed on this notebook: say so, go on
            self._grader_error(job, "execution", error)
            job.notebook = verdict.unrun(self.reference, "the grader could not run this notebook")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            if uid is not None:
                sandbox.clear_user(uid)
            slots.put(uid)
        job.seconds = time.monotonic() - started
        return job

    def _judge(self):
        """A judge process for one student (started by ``execute``), or None on the old path."""
        if self.options.in_kernel_tests:
            return None
        limits = self.options.limits
        return judges.JudgeProcess(self.fixtures, self.test_sources, threads=limits.threads,
                                   memory_bytes=2 * limits.memory_bytes)

    def _kernel(self) -> str:
        return self.reference.metadata.get("kernelspec", {}).get("name", "python3")

    # -- before execution ------------------------------------------------------------------------

    def _prepare(self, job: Job) -> None:
        """Read and restore the submission; decide whether it runs or is recorded as is."""
        try:
            self._read_restore(job)
        except Exception as error:
            self._grader_error(job, "reading", error)
            job.notebook, job.run = verdict.unrun(self.reference, "the grader could not read this notebook"), False

    def _read_restore(self, job: Job) -> None:
        sub = job.submission
        job.notes += sub.notes
        if sub.notebook is None:
            job.problems.append(Problem(Reason.MISSING, f"no notebook named {self.notebook}.ipynb in the submission"))
            job.notebook = verdict.unrun(self.reference, f"no notebook was found: {'; '.join(sub.notes) or 'empty'}")
            return
        try:
            student, notes = intake.parse(sub.data(self.options.limits.notebook_bytes), self.options.limits)
        except intake.Refused as refused:
            job.problems.append(Problem(refused.reason, str(refused)))
            job.notebook = verdict.unrun(self.reference, f"your notebook could not be read: {refused}")
            return
        restored, restored_notes = restore.restore(student, self.reference, self.release)
        job.notes += notes + restored_notes + uncompilable(restored)
        job.notebook, job.run = restored, True

    # -- recording (main thread only: the single gradebook writer) ----------------------------------

    def _record(self, job: Job, done: int, total: int) -> int:
        sub = job.submission
        scores = self._record_in_gradebook(job)
        auto = {k: v for k, v in scores.items() if v is not None}
        failed = [k for k, v in scores.items() if k in self.tests and v is not None and v < self.tests[k]]
        problems = list(job.problems)
        if failed and not problems:
            problems.append(Problem(Reason.TESTS_FAILED, ", ".join(failed)))
        result = {"student": sub.student, "assignment": self.assignment, "fingerprint": job.fingerprint,
                  "score": sum(auto.values()), "max_score": self._max_score(), "scores": scores,
                  "reasons": [p.as_dict() for p in problems], "notes": job.notes,
                  "seconds": round(job.seconds, 2), "sandboxed": self.options.sandboxed}
        try:
            self._write_result(result)
        except Exception as error:
            self._grader_error(job, "writing the result", error)
        done += 1
        key = ", ".join(p.reason.value for p in problems) or "ok"
        self.log(f"[{done:>3}/{total}] {sub.student:<24} {result['score']:>5g}/{result['max_score']:g}  "
                 f"{key}  ({job.seconds:.1f} s)")
        refusals = [p for p in problems if p.reason is not Reason.TESTS_FAILED]
        for line in [f"  {p.reason.value}: {p.detail}" for p in refusals] + [f"  note: {n}" for n in job.notes]:
            self.log(f"{sub.student}{line}", also_console=False)
        if self.options.stop_after is not None and done >= self.options.stop_after:
            sys.stdout.flush()
            os._exit(75)  # test hook: an abrupt end, as if the machine went down
        return done

    def _record_in_gradebook(self, job: Job) -> dict:
        """Record the verdict; if nbgrader refuses it, record the student as not graded, with the reason."""
        sub = job.submission
        try:
            if sub.student in self.options.fault_for:
                raise RuntimeError("a fault inside the grader, injected for this student (--fault-for)")
            scores, notes = self.recorder.record(sub.student, job.notebook, sub.timestamp, self.options.feedback)
            job.notes += notes
            return scores
        except Exception as error:
            self._grader_error(job, "recording", error)
        try:
            fallback = verdict.unrun(self.reference, "the grader could not record this notebook; "
                                                     "the instructor has the details")
            return self.recorder.record(sub.student, fallback, None, self.options.feedback)[0]
        except Exception as error:
            self._grader_error(job, "recording the fallback", error)
            return {}

    def _max_score(self) -> float:
        """The autograded points (written answers, graded by hand later, are not counted here)."""
        return sum(self.tests.values())

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
            report = self.course.feedback / result["student"] / self.assignment / "grading_report.txt"
            if report.parent.is_dir() and not report.parent.is_symlink():
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


def uncompilable(notebook) -> list[str]:
    """Replace each code cell that Python cannot even compile (nested too deeply) by one that says so.

    IPython's kernel crashes on such a cell without replying (a 3,000-term sum raises RecursionError
    inside its message handler), and the rest of the notebook would wait for the wall clock.
    """
    notes = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or nb.is_test(cell):
            continue
        try:
            compile(cell.source, f"<cell {index}>", "exec", dont_inherit=True)
        except (RecursionError, MemoryError):
            cell.source = ('raise SyntaxError("the grader replaced this cell: it is nested too deeply for Python '
                           'to compile (split the long expression)")')
            notes.append(f"cell {index} ({nb.grade_id(cell) or 'not graded'}) is nested too deeply for Python to "
                         "compile: it was replaced by an error")
        except (SyntaxError, ValueError):
            continue  # IPython syntax (magics, !commands) or a plain error the student will see
    return notes


def student_report(result: dict) -> str:
    """The per-student report: score, each exercise, and every reason and note."""
    lines = [f"{result['student']}: {result['score']:g} / {result['max_score']:g} (autograded part)"]
    lines += [f"  {cell}: {'waits for manual grading' if score is None else f'{score:g}'}"
              for cell, score in result["scores"].items()]
    lines += [f"  problem ({r['key']}): {r['detail']}" for r in result["reasons"]]
    lines += [f"  note: {n}" for n in result["notes"]]
    return "\n".join(lines) + "\n"
