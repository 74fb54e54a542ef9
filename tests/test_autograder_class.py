"""The grading pipeline on a hostile class: every bad submission next to correct ones.

One class of the real 02_perceptron lesson is graded once (module fixture) with the real command
(`python -m autograder grade`), real nbgrader, real kernels and real bubblewrap, in a temporary
course folder. Then: the exact score and reason of every student, what the sandbox blocked, the
feedback (with nothing active in it), the instructor's log, that every original submission is kept
byte for byte, the summary, and that grading again changes nothing.

Planted (issue 13): broken, deep, huge, many-celled or not-a-file notebooks; hostile nbgrader metadata
and timestamps; source that makes Python's parser recurse; forged partial credit; displays updated to
megabytes; five processes of 1.1 GiB under a 4 GiB bound; a disk filled with files, and with too many
files; a kernel that tries to replace what the grader reads; XSS in a written answer; and a fault inside
the grader itself for one student. And the judge (issue 14): every attack of ``test_judge_attacks``
(patched helpers, input and AST transformers, trace and import hooks, reading the running cell, an
always-equal result, a fake agent) planted on the stubs scores 0 with no hidden-test code in the
feedback, and the legitimate code the old static scan zeroed scores full marks. Some are written straight into ``submitted/`` (as an nbgrader
exchange would deliver them), past the collect step's own checks.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from conftest import ROOT, class_release, run_tool, solution_path
from support.html_audit import audit
from support.submissions import fill_answers
from test_grading_cycle import HALF_RIGHT, LESSON
from test_judge_attacks import ATTACKS, TARGETED, attacked, stubs

TESTS = ["net_input_tests", "predict_tests", "update_step_tests", "sign_update_tests", "train_perceptron_tests"]
LIMITS = ["--workers=2", "--timeout=50", "--cpu=30", "--memory=4", "--fault-for=grader_fault"]
# Written answers an instructor's browser must show as text: each would make a request or run code.
XSS = """XOR is not linearly separable: $w \\cdot x < T$ cannot hold for both classes.

<img src=x onerror="fetch('/api/contents/xss-img.txt', {method: 'PUT', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({type: 'file', format: 'text', content: 'x'})})">
<script>fetch('/api/contents/xss-script.txt', {method: 'PUT', body: '{"type": "file", "format": "text", "content": "x"}'})</script>
<svg onload="fetch('/api/contents/xss-svg.txt', {method: 'PUT'})"><circle r="1"></circle></svg>
[see my notes](javascript:fetch('/api/contents/xss-link.txt',{method:'PUT'}))
"""


def needs_bwrap():
    """Isolation tests need bubblewrap: missing in CI is a failure, elsewhere a skip with the reason."""
    if shutil.which("bwrap"):
        return
    message = "bubblewrap (bwrap) is not installed: the sandbox cannot be tested (apt-get install bubblewrap)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def body(answer: str, extra: str, model: dict) -> str:
    """The model answer of ``answer`` with ``extra`` run first inside the function (after its docstring)."""
    function = next(n for n in ast.parse(model[answer]).body if isinstance(n, ast.FunctionDef))
    first = function.body[0]
    after = first.end_lineno if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
        else first.lineno - 1
    lines = model[answer].splitlines()
    return "\n".join(lines[:after] + ["    " + e for e in extra.splitlines()] + lines[after:])


def plant(release, model, port: int, course: Path) -> dict:
    """student -> (notebook or raw bytes or None, files) for every planted case."""
    correct_two = {key: model[key] for key in ("net_input", "predict")}
    sneaky = model["net_input"] + f'''
import socket, sys, warnings
warnings.warn("a warning on stderr must not cost points")
print("noise on stderr", file=sys.stderr)
def _attempt(what, action):
    try:
        action()
        print(f"ESCAPED: {{what}}")
    except Exception as error:
        print(f"BLOCKED: {{what}}: {{type(error).__name__}}")
_attempt("read the solutions", lambda: open({str(solution_path(LESSON))!r}).read())
_attempt("write the gradebook", lambda: open({str(course / "gradebook.db")!r}, "ab").write(b"x"))
_attempt("read another submission", lambda: open({str(course / "submitted/alice" / LESSON / (LESSON + ".ipynb"))!r}).read())
_attempt("write the repository", lambda: open({str(ROOT / "autograder" / "escaped.txt")!r}, "w").write("x"))
_attempt("reach the host", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=3))
_attempt("reach the internet", lambda: socket.create_connection(("1.1.1.1", 53), timeout=3))
import os
_attempt("replace a socket of the kernel", lambda: (os.remove("/run/nnlab/kernel-1"),
                                                     os.symlink("/dev/zero", "/run/nnlab/kernel-1")))
_attempt("rewrite the connection file", lambda: open("/run/nnlab/kernel.json", "w").write("{{}}"))
_attempt("write outside the working folder", lambda: open("/kernel.log", "w").write("x"))
_attempt("write into /dev", lambda: open("/dev/kernel.log", "w").write("x"))
os.mkfifo("/tmp/kernel.log")                      # where a grader might look for the kernel's log
os.symlink("/dev/zero", "/tmp/results.json")     # or its results
open("/tmp/huge.bin", "wb").truncate(60 << 20)
print("planted a FIFO, a link to /dev/zero and a 60 MiB file in the working folder")
'''
    always_equal = {
        "net_input": "class AlwaysEqual:\n    def __eq__(self, other): return True\n    def __ne__(self, other): return False\n"
                     "def net_input(X, w, T):\n    return AlwaysEqual()",
        "predict": "def predict(X, w, T):\n    return AlwaysEqual()",
        "update_step": "def update_step(w, x, d, T, eta=1.0):\n    return AlwaysEqual()",
        "sign_update": "def sign_update(w, x, y):\n    return AlwaysEqual()",
        "train_perceptron": "def train_perceptron(X, d, T=0.0, eta=1.0, max_epochs=100):\n    return AlwaysEqual(), [AlwaysEqual()]",
    }
    with_train = lambda extra: fill_answers(release, {**model, "train_perceptron": body("train_perceptron", extra, model)})
    edited_tests = fill_answers(release, {})
    for cell in list(edited_tests.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "net_input_tests":
            cell.source = 'print("✓ all good")'
        elif grade_id == "predict_tests":
            edited_tests.cells.remove(cell)
        elif grade_id == "update_step_tests":
            cell.metadata.nbgrader["grade_id"], cell.source = "bonus", "pass"
        elif grade_id == "sign_update_tests":
            del cell.metadata["nbgrader"]
            cell.source = "pass"
    edited_meta = fill_answers(release, {**correct_two, **HALF_RIGHT})
    for cell in edited_meta.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta.update(points=100, locked=False)
        if meta.get("grade_id") == "net_input":
            meta.update(grade=True, points=50)
    v3 = nbformat.writes(nbformat.convert(fill_answers(release, model), 3), version=3).encode()
    claims = fill_answers(release, model)  # every kind of bad grading claim, on a correct notebook
    for cell, claim in zip([c for c in claims.cells if c.metadata.get("nbgrader", {}).get("grade_id") in TESTS],
                           ["a string", ["a", "list"], {"grade_id": ["net_input_tests"], "grade": True, "points": 50},
                            {"grade_id": 7, "points": 1e9}, None]):
        if claim is None:  # the last test cell: a wrong checksum and an unknown schema version
            cell.metadata.nbgrader.update(checksum="0" * 32, schema_version=99, points="all of them")
        else:
            cell.metadata["nbgrader"] = claim
    answer = next(c for c in claims.cells if isinstance(c.metadata.get("nbgrader"), dict)
                  and c.metadata.nbgrader.get("grade_id") == "net_input")
    answer.metadata.nbgrader.update(schema_version=0, checksum="f" * 32)
    recursion = model["sign_update"] + "\nx = " + " + ".join(["1"] * 3000) + "\n"
    forged = body("predict", "import sys\nif not getattr(predict, 'forged', False):\n    predict.forged = True\n"
                             "    sys.displayhook(1000)", model)
    flood = ("for _ in range(2000):\n    display('tiny', display_id='same')\n"
             "display('x' * 1_500_000, display_id='same', update=True)\n"
             "for i in range(300):\n    display('.', display_id=f'd{i}').update('y' * 200_000)\n")
    tree = ("import os, time\nkids = []\nfor _ in range(5):\n    pid = os.fork()\n    if pid == 0:\n"
            "        block = bytearray(1100 << 20)\n        time.sleep(120)\n        os._exit(0)\n"
            "    kids.append(pid)\nfor pid in kids:\n    os.waitpid(pid, 0)")
    fill_disk = ("for i in range(10_240):\n    with open(f'/tmp/part{i}.bin', 'wb') as part:\n"
                 "        part.write(bytes(1 << 20))  # 10 GiB in 1 MiB files")
    many_files = "for i in range(500_000):\n    open(f'/tmp/empty{i}', 'w').close()"
    every_attack = attacked(LESSON, {**stubs(nbformat.read(solution_path(LESSON), as_version=4)),
                                     **{k: v for k, v in model.items() if k not in always_equal}},
                            list(ATTACKS) + list(TARGETED[LESSON]))
    # code the static scan once zeroed (issue 14.1), in correct answers: each scores full marks
    legitimate = {**model, "net_input": "import inspect\nimport torch\ndevice = torch.device('cpu')\n"
                  "for check in ['a', 'b']:\n    pass\nrows = {}\nrows[np.pi] = 1\nnames = vars()\n"
                  "offset = eval('0.0')\n" + model["net_input"]}
    return {
        "alice": (fill_answers(release, model), {}),
        "every_attack": (fill_answers(release, every_attack), {}),
        "legitimate": (fill_answers(release, legitimate), {}),
        "carol": (fill_answers(release, {**correct_two, **HALF_RIGHT}), {}),
        "broken_json": (b'{"cells": [', {}),
        "old_and_renamed": (None, {"my perceptron (final).ipynb": v3}),
        "missing": (None, {"notes.txt": b"I forgot the notebook"}),
        "extra_files": (fill_answers(release, {**correct_two, **HALF_RIGHT}),
                        {"nnlab/__init__.py": b"", "nnlab/check.py": b"def close(*a, **k): pass\nequal = true = close\n",
                         "data/big.bin": b"\0" * (1 << 20)}),
        "looper": (with_train("while True:\n    pass"), {}),
        "sleeper": (with_train("import time\ntime.sleep(10 ** 6)"), {}),
        "memory_bomb": (fill_answers(release, {**model, "sign_update": body(
            "sign_update", "hog = []\nwhile True:\n    hog.append(bytearray(1 << 26))", model)}), {}),
        "fork_bomb": (with_train("import os\nwhile True:\n    os.fork()"), {}),
        "sys_exit": (fill_answers(release, {**model, "update_step": model["update_step"] + "\nimport sys\nsys.exit('bye')"}), {}),
        "os_exit": (with_train("import os\nos._exit(3)"), {}),
        "segfault": (with_train("import faulthandler\nfaulthandler._sigsegv()"), {}),
        "edited_tests": (edited_tests, {}),
        "edited_metadata": (edited_meta, {}),
        "always_equal": (fill_answers(release, always_equal), {}),
        "patches_check": (fill_answers(release, {"net_input": "from nnlab import check\n"
                          "check.close = check.equal = check.true = lambda *a, **k: None"}), {}),
        "patches_numpy_testing": (fill_answers(release, {"net_input": "import numpy.testing\n"
                                  "np.testing.assert_allclose = lambda *a, **k: None"}), {}),
        "redefines_assertion": (fill_answers(release, {"net_input": "import builtins\n"
                                "builtins.AssertionError = Warning\nAssertionError = Warning"}), {}),
        "output_flood": (fill_answers(release, {**model, "net_input": model["net_input"]
                         + "\nfor _ in range(200_000):\n    print('flood ' * 50)"}), {}),
        "sneaky": (fill_answers(release, {**model, "net_input": sneaky}), {}),
        "metadata_claims": (claims, {}),
        "parser_recursion": (fill_answers(release, {**model, "sign_update": recursion}), {}),
        "forged_results": (fill_answers(release, {**model, "predict": forged}), {}),
        "display_flood": (fill_answers(release, {**model, "net_input": model["net_input"] + "\n" + flood}), {}),
        "tree_memory": (with_train(tree), {}),
        "disk_filler": (with_train(fill_disk), {}),
        "many_files": (with_train(many_files), {}),
        "grader_fault": (fill_answers(release, model), {}),
    }


def plant_directly(release, model, submitted: Path) -> None:
    """Files no collect step would pass, as an exchange (or a careless copy) could still deliver them."""
    def folder(student):
        path = submitted / student / LESSON
        path.mkdir(parents=True)
        return path
    deep = folder("deep_json")
    (deep / f"{LESSON}.ipynb").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    os.mkfifo(deep / "timestamp.txt")                              # would block a reader forever
    huge = folder("huge_notebook")
    with open(huge / f"{LESSON}.ipynb", "wb") as file:
        file.truncate(200 << 20)                                    # 200 MB (sparse on disk)
    (huge / "timestamp.txt").symlink_to("/dev/zero")
    many = json.loads(nbformat.writes(fill_answers(release, model)))
    many["cells"] += [{"cell_type": "markdown", "id": f"pad{i}", "metadata": {}, "source": "padding"}
                      for i in range(100_000)]
    (folder("many_cells") / f"{LESSON}.ipynb").write_text(json.dumps(many))
    os.mkfifo(folder("fifo_notebook") / f"{LESSON}.ipynb")
    xss = folder("xss")
    nbformat.write(fill_answers(release, {**model, "why_xor": XSS}), xss / f"{LESSON}.ipynb")
    (xss / "timestamp.txt").write_text("next tuesday; DROP TABLE grades")
    (folder("link_to_alice") / f"{LESSON}.ipynb").symlink_to(submitted / "alice" / LESSON / f"{LESSON}.ipynb")


ALL_BUT_TRAIN = {**dict.fromkeys(TESTS, 2), "train_perceptron_tests": 0}
EXPECTED = {  # student -> (points per test cell, the reason keys the run must report)
    "alice": (dict.fromkeys(TESTS, 2), set()),
    "carol": ({**dict.fromkeys(TESTS, 0), "net_input_tests": 2, "predict_tests": 2}, {"tests-failed"}),
    "broken_json": (dict.fromkeys(TESTS, 0), {"unreadable-notebook"}),
    "old_and_renamed": (dict.fromkeys(TESTS, 2), set()),
    "missing": (dict.fromkeys(TESTS, 0), {"missing-notebook"}),
    "extra_files": ({**dict.fromkeys(TESTS, 0), "net_input_tests": 2, "predict_tests": 2}, {"tests-failed"}),
    "looper": (ALL_BUT_TRAIN, {"cpu-limit", "timeout"}),          # whichever bound comes first
    "sleeper": (ALL_BUT_TRAIN, {"timeout"}),
    "memory_bomb": ({**dict.fromkeys(TESTS, 2), "sign_update_tests": 0}, {"memory-limit"}),
    "fork_bomb": (ALL_BUT_TRAIN, {"process-limit", "memory-limit"}),  # whichever bound comes first
    "sys_exit": (dict.fromkeys(TESTS, 2), {"sys-exit"}),
    "os_exit": (ALL_BUT_TRAIN, {"kernel-exit"}),
    "segfault": (ALL_BUT_TRAIN, {"kernel-crash"}),
    "edited_tests": (dict.fromkeys(TESTS, 0), {"tests-failed"}),
    "edited_metadata": ({**dict.fromkeys(TESTS, 0), "net_input_tests": 2, "predict_tests": 2}, {"tests-failed"}),
    "always_equal": (dict.fromkeys(TESTS, 0), {"tests-failed"}),
    "patches_check": (dict.fromkeys(TESTS, 0), {"tests-failed"}),
    "patches_numpy_testing": (dict.fromkeys(TESTS, 0), {"tests-failed"}),
    "redefines_assertion": (dict.fromkeys(TESTS, 0), {"tests-failed"}),
    "every_attack": (dict.fromkeys(TESTS, 0), {"tests-failed"}),
    "legitimate": (dict.fromkeys(TESTS, 2), set()),
    "output_flood": (dict.fromkeys(TESTS, 2), {"output-flood"}),
    "sneaky": (dict.fromkeys(TESTS, 2), set()),
    "metadata_claims": (dict.fromkeys(TESTS, 2), set()),
    "parser_recursion": ({**dict.fromkeys(TESTS, 2), "sign_update_tests": 0}, {"tests-failed"}),  # that cell alone
    "forged_results": (dict.fromkeys(TESTS, 2), set()),
    "display_flood": (dict.fromkeys(TESTS, 2), {"output-flood"}),
    "tree_memory": (ALL_BUT_TRAIN, {"memory-limit"}),
    "disk_filler": (ALL_BUT_TRAIN, {"disk-limit"}),
    "many_files": (ALL_BUT_TRAIN, {"disk-limit"}),
    "xss": (dict.fromkeys(TESTS, 2), set()),
    "grader_fault": (dict.fromkeys(TESTS, 0), {"grader-error"}),
    "deep_json": (dict.fromkeys(TESTS, 0), {"refused-notebook"}),
    "huge_notebook": (dict.fromkeys(TESTS, 0), {"refused-notebook"}),
    "many_cells": (dict.fromkeys(TESTS, 0), {"refused-notebook"}),
    "fifo_notebook": (dict.fromkeys(TESTS, 0), {"missing-notebook"}),
    "link_to_alice": (dict.fromkeys(TESTS, 0), {"missing-notebook"}),
}


class Listener:
    """A TCP server on the host's loopback that records whether anyone connected."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.server.settimeout(0.5)
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while self.running:
            try:
                self.server.accept()[0].close()
                self.connections += 1
            except OSError:
                continue

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    needs_bwrap()
    course = tmp_path_factory.mktemp("hostile_course")
    env = {"NNLAB_COURSE_DIR": str(course)}
    release_dir, release, model = class_release(LESSON, course)
    listener = Listener()
    incoming = course / "incoming"
    for student, (notebook, files) in plant(release, model, listener.port, course).items():
        folder = incoming / student
        folder.mkdir(parents=True)
        if isinstance(notebook, bytes):
            (folder / f"{LESSON}.ipynb").write_bytes(notebook)
        elif notebook is not None:
            nbformat.write(notebook, folder / f"{LESSON}.ipynb")
        for name, data in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
    (incoming / "extra_files" / "solutions").symlink_to(ROOT / "solutions")
    plant_directly(release, model, course / "submitted")
    planted = fingerprints(course / "submitted")
    run = run_tool("python", "-m", "autograder", "grade", LESSON, incoming, *LIMITS,
                   f"--release-dir={release_dir}", env=env, timeout=1200)
    listener.close()
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    yield course, run.stdout, listener, release_dir, planted


def fingerprints(folder: Path) -> dict[str, str]:
    """Every entry below ``folder`` (links and FIFOs as what they are, never followed or read) and its hash."""
    found = {}
    for root, _, files in os.walk(folder, followlinks=False):
        for name in files:
            path = Path(root) / name
            if path.is_symlink():
                found[str(path.relative_to(folder))] = "link to " + os.readlink(path)
            elif path.is_fifo():
                found[str(path.relative_to(folder))] = "fifo"
            else:
                with open(path, "rb") as file:
                    found[str(path.relative_to(folder))] = hashlib.file_digest(file, "sha256").hexdigest()
    return found


def results(course: Path) -> dict:
    folder = course / "pipeline" / "results" / LESSON
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}


def test_every_student_gets_exactly_the_expected_score_and_reason(graded):
    course = graded[0]
    found = results(course)
    assert sorted(found) == sorted(EXPECTED)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, (points, reasons) in EXPECTED.items():
            got = {cell: gradebook.find_grade(cell, LESSON, LESSON, student).score for cell in TESTS}
            assert got == points, f"{student}: {got} {found[student]['reasons']}"
            keys = {r["key"] for r in found[student]["reasons"]}
            if student in ("looper", "fork_bomb"):
                assert keys and keys <= reasons, f"{student}: {found[student]['reasons']}"
            else:
                assert keys == reasons, f"{student}: {found[student]['reasons']}"
            assert found[student]["score"] == sum(points.values())


def test_notes_say_what_was_repaired(graded):
    notes = {student: " | ".join(r["notes"]) for student, r in results(graded[0]).items()}
    assert "upgraded from nbformat 3" in notes["old_and_renamed"]
    assert "renamed notebook" in notes["old_and_renamed"]
    assert "extra files ignored" in notes["extra_files"] and "nnlab/check.py" in notes["extra_files"]
    assert "edited cell 'net_input_tests' restored" in notes["edited_tests"]
    assert "missing cell 'predict_tests' put back" in notes["edited_tests"]
    assert "missing cell 'sign_update_tests' put back" in notes["edited_tests"]
    assert "grading metadata" in notes["edited_metadata"]


def test_the_sandbox_blocked_every_escape(graded):
    course, _, listener, _, _ = graded
    feedback = (course / "feedback" / "sneaky" / LESSON / f"{LESSON}.html").read_text()
    for attempt in ("read the solutions", "write the gradebook", "read another submission",
                    "write the repository", "reach the host", "reach the internet", "replace a socket of the kernel",
                    "rewrite the connection file", "write outside the working folder", "write into /dev"):
        assert f"BLOCKED: {attempt}" in feedback, attempt
        assert f"ESCAPED: {attempt}" not in feedback, attempt
    assert listener.connections == 0
    assert not (ROOT / "autograder" / "escaped.txt").exists()


def kernels_of(students) -> list[str]:
    """Running sandboxes of these students (a sandbox's command names its scratch folder, a hash of the student)."""
    rows = run_tool("ps", "-eo", "pid,args").stdout.splitlines()
    folders = [hashlib.sha256(student.encode()).hexdigest()[:16] for student in students]
    return [row for row in rows if any(f"/{folder}/kernel.json" in row for folder in folders)]


def started_by_the_run(course: Path) -> list[str]:
    """Live processes started by the run: everything it starts outside a sandbox keeps its environment, whose
    NNLAB_COURSE_DIR names this class (the warm kernels' zygote and its bubblewrap, cold kernels' bubblewrap,
    the judges and their server); the sandboxed processes die with their bubblewrap."""
    marker = f"NNLAB_COURSE_DIR={course}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(f"{proc.name}: {(proc / 'cmdline').read_bytes().replace(bytes(1), b' ')[:200].decode()}")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def test_no_sandboxed_process_survives_the_run(graded):
    course = graded[0]
    assert kernels_of(EXPECTED) == []  # cold kernels name their student's scratch folder
    deadline = time.monotonic() + 10   # the run has returned; what it started may take a moment to go
    while started_by_the_run(course) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert started_by_the_run(course) == [], "processes of the grading run outlived it"


def test_feedback_explains_failures_without_hidden_test_code(graded):
    course = graded[0]
    feedback = {s: (course / "feedback" / s / LESSON / f"{LESSON}.html").read_text() for s in EXPECTED}
    assert "values are not right" in feedback["carol"]               # nnlab.check's message…
    assert "the learning rate scales the step" in feedback["carol"]  # …with its hint
    assert "hidden = np.random.default_rng" not in feedback["carol"]  # but no hidden test code
    assert "BEGIN HIDDEN TESTS" not in feedback["carol"]
    assert "expected numbers" in feedback["always_equal"]
    assert "ran out of time" in feedback["sleeper"]
    assert "segmentation fault" in feedback["segfault"]
    assert "could not be read" in feedback["broken_json"]
    for student in ("every_attack", "patches_check", "carol"):  # the judge's verdicts: no test code at all
        assert "BEGIN HIDDEN TESTS" not in feedback[student] and "default_rng" not in feedback[student], student
    assert "THE RUNNING CELL" in feedback["every_attack"]  # the attack printed, and saw nothing of the test
    report = (course / "feedback" / "segfault" / LESSON / "grading_report.txt").read_text()
    assert "kernel-crash" in report and "train_perceptron_tests: 0" in report


def test_the_summary_counts_students_mean_and_reasons(graded):
    out = graded[1]
    assert f"students: {len(EXPECTED)}" in out
    mean = sum(sum(points.values()) for points, _ in EXPECTED.values()) / len(EXPECTED)
    assert f"mean:     {mean:.2f} / 10" in out
    assert "tampering" not in out  # no static scan: the judge decides
    assert f"[{len(EXPECTED):>3}/{len(EXPECTED)}]" in out  # progress lines


def test_grading_again_changes_nothing_and_duplicates_nothing(graded):
    course, _, _, release_dir, _ = graded
    before = results(course)
    again = run_tool("python", "-m", "autograder", "grade", LESSON, *LIMITS, f"--release-dir={release_dir}",
                     env={"NNLAB_COURSE_DIR": str(course)})
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{len(EXPECTED)} already graded, 0 to grade" in again.stdout
    assert results(course) == before
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert len(gradebook.find_assignment(LESSON).submissions) == len(EXPECTED)


def test_export_writes_one_row_per_student(graded):
    course = graded[0]
    export = run_tool("python", "-m", "autograder", "export", course / "grades.csv",
                      env={"NNLAB_COURSE_DIR": str(course)})
    assert export.returncode == 0, export.stderr[-2000:]
    rows = (course / "grades.csv").read_text().splitlines()
    assert len(rows) == 1 + len(EXPECTED)


def test_notes_say_what_was_ignored(graded):
    notes = {student: " | ".join(r["notes"]) for student, r in results(graded[0]).items()}
    assert "timestamp.txt ignored" in notes["xss"] and "is not a date" in notes["xss"]
    assert "timestamp.txt ignored" in notes["deep_json"] and "not a regular file" in notes["deep_json"]
    assert "timestamp.txt ignored" in notes["huge_notebook"] and "symbolic link" in notes["huge_notebook"]
    assert "nbgrader metadata that is not a dict (str) ignored" in notes["metadata_claims"]
    assert "cell claiming grade id 7 graded as an ordinary cell" in notes["metadata_claims"]
    assert "missing cell 'net_input_tests' put back" in notes["metadata_claims"]
    assert "grading metadata of 'train_perceptron_tests' restored" in notes["metadata_claims"]
    # what the kernel displays while the judge calls predict (sys.displayhook(1000)) never reaches the test cell
    assert "a result shown in test cell" not in notes["forged_results"]
    assert "not a regular file" in notes["fifo_notebook"]
    assert "not a regular file" in notes["link_to_alice"]
    assert "nested too deeply for Python to compile: it was replaced by an error" in notes["parser_recursion"]


def test_each_refusal_says_why(graded):
    reasons = {s: " | ".join(r["detail"] for r in res["reasons"]) for s, res in results(graded[0]).items()}
    assert "nests deeper than the 64 levels" in reasons["deep_json"]
    assert "200.0 MiB, over the 32 MiB" in reasons["huge_notebook"]
    assert "100" in reasons["many_cells"] and "cells, over the 5000 allowed" in reasons["many_cells"]
    assert re.search(r"GiB in [5-9] processes together, over the 4 GiB limit", reasons["tree_memory"])
    assert "are full" in reasons["disk_filler"] or "[Errno 28]" in reasons["disk_filler"] \
        or "writable folders are full" in reasons["disk_filler"], reasons["disk_filler"]
    assert "files written, over the 20000 allowed" in reasons["many_files"]
    assert reasons["display_flood"].startswith("output cut")
    assert "RuntimeError: a fault inside the grader" in reasons["grader_fault"]


def test_the_instructor_log_names_every_refusal_and_holds_the_traceback(graded):
    course = graded[0]
    log = (course / "pipeline" / "logs" / f"{LESSON}.log").read_text()
    for student, (_, reasons) in EXPECTED.items():
        logged = set(re.findall(rf"^\S+ {re.escape(student)}  ([a-z-]+): ", log, re.MULTILINE)) - {"note"}
        assert logged == reasons - {"tests-failed"} or student in ("looper", "fork_bomb") and logged, (student, logged)
    fault = log[log.index("GRADER ERROR grader_fault (recording)"):]
    assert "Traceback (most recent call last)" in fault and "in _record_in_gradebook" in fault


def test_every_original_submission_is_kept_byte_for_byte(graded):
    course, *_, planted = graded
    after = fingerprints(course / "submitted")
    assert {k: after.get(k) for k in planted} == planted
    incoming = fingerprints(course / "incoming")
    for student in ("alice", "carol", "sneaky", "forged_results", "display_flood"):
        assert after[f"{student}/{LESSON}/{LESSON}.ipynb"] == incoming[f"{student}/{LESSON}.ipynb"], student


def test_a_display_updated_to_megabytes_counts_every_copy(graded):
    course = graded[0]
    graded_copy = course / "autograded" / "display_flood" / LESSON / f"{LESSON}.ipynb"
    assert graded_copy.stat().st_size < 3 * (1 << 20)  # the 1 MiB output budget, not 2000 × 1.5 MB
    assert "output cut by the grader" in graded_copy.read_text()


def test_the_feedback_and_the_graded_copy_hold_no_active_content(graded):
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    course = graded[0]
    feedback = (course / "feedback" / "xss" / LESSON / f"{LESSON}.html").read_text()
    clean = audit((course / "feedback" / "alice" / LESSON / f"{LESSON}.html").read_text())
    assert audit(feedback) == clean  # only what the page itself has (its scripts, the header's badges)
    assert "XOR is not linearly separable" in feedback and "w \\cdot x &lt; T" in feedback  # text and math stay
    copy = nbformat.read(course / "autograded" / "xss" / LESSON / f"{LESSON}.ipynb", as_version=4)
    answer = next(c for c in copy.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "why_xor")
    assert audit(markdown2html_mistune(answer.source)) == ([], [])  # what the formgrader renders
    original = (course / "submitted" / "xss" / LESSON / f"{LESSON}.ipynb").read_text()
    assert "onerror" in original  # the student's own file is kept as handed in
