"""Every way a determined student made the release's stubs score full marks when the tests ran in the
kernel (issue 14), planted on lesson 02 and run through the judge (a plain local kernel here; the
pipeline's hostile class runs them sandboxed): every test scores 0 and nothing of the hidden tests
reaches the output. And the same attacks next to correct answers change nothing: full marks.

``ATTACKS`` maps a name to the answer cells it replaces (grade id -> source); the pipeline's hostile
class plants the same sources on the numpy and the torch lesson.
"""

from __future__ import annotations

import nbformat
import pytest

from conftest import release_path, solution_path

from autograder.judge.notebook import run_notebook

STUB = "def {name}(*args, **kwargs):\n    raise NotImplementedError()\n"

# What each attack does, in the kernel (each one was a full-marks exploit of the in-kernel tests):
ATTACKS = {
    # the IPython shell found without naming it, an input transformer that empties every test cell
    "input_transformer": '''
import gc
shell = next(o for o in gc.get_objects() if type(o).__name__.endswith("InteractiveShell"))
shell.input_transformers_post.append(lambda lines: ["pass\\n"] if any("check" in l for l in lines) else lines)
''',
    # an AST transformer that replaces every statement of a test cell by `pass`
    "ast_transformer": '''
import ast, gc
class Emptied(ast.NodeTransformer):
    def visit_Module(self, node):
        if "check" in ast.dump(node):
            node.body = [ast.Pass()]
        return node
shell = next(o for o in gc.get_objects() if type(o).__name__.endswith("InteractiveShell"))
shell.ast_transformers.append(Emptied())
''',
    # a trace hook that makes every comparison helper return at once
    "settrace": '''
import sys, threading
def tracer(frame, event, arg):
    if event == "call" and frame.f_code.co_filename.endswith("check.py") and \
            frame.f_code.co_name in ("close", "equal", "true", "shape", "_fail"):
        frame.f_trace = None
        raise StopIteration  # abandon the check: the cell goes on
    return None
sys.settrace(tracer)
threading.settrace(tracer)
''',
    # a profile hook that overwrites what was compared
    "setprofile": '''
import sys
def profiler(frame, event, arg):
    if event == "call" and frame.f_code.co_name == "close" and "expected" in frame.f_locals:
        frame.f_locals["got"] = frame.f_locals["expected"]
sys.setprofile(profiler)
''',
    # an import hook: whoever imports nnlab.check afresh gets helpers that never fail
    "import_hook": '''
import sys, types, importlib.abc, importlib.util
class Lenient(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        return importlib.util.spec_from_loader(name, self) if name == "nnlab.check" else None
    def create_module(self, spec):
        fake = types.ModuleType("nnlab.check")
        for helper in ("close", "equal", "true", "shape", "raises", "close_or_slip", "trajectory"):
            setattr(fake, helper, lambda *a, **k: None)
        fake.in_kernel = lambda f: f
        return fake
    def exec_module(self, module):
        pass
sys.meta_path.insert(0, Lenient())
sys.modules.pop("nnlab.check", None)
''',
    # a module file written at run time, first on the path, shadowing the helpers
    "module_file": '''
import os, sys
os.makedirs("fake/nnlab", exist_ok=True)
with open("fake/nnlab/__init__.py", "w") as f:
    f.write("")
with open("fake/nnlab/check.py", "w") as f:
    f.write("def close(*a, **k): pass\\nequal = true = shape = raises = close\\n")
sys.path.insert(0, os.path.abspath("fake"))
for name in [m for m in sys.modules if m == "nnlab" or m.startswith("nnlab.")]:
    del sys.modules[name]
''',
    # numpy patched through an alias: inside the comparison helpers every difference becomes zero
    "numpy_alias": '''
import sys
import numpy as xp
_real_abs = xp.abs
def _abs(values, *args, **kwargs):
    if sys._getframe(1).f_code.co_filename.endswith("check.py"):
        return xp.zeros(xp.shape(values)) - 1.0
    return _real_abs(values, *args, **kwargs)
xp.abs = _abs
xp.allclose = lambda *a, **k: True
xp.testing.assert_allclose = lambda *a, **k: None
''',
    # a background thread that keeps replacing the helpers, whenever they are imported again
    "background_thread": '''
import sys, threading, time
def keep_patching():
    while True:
        module = sys.modules.get("nnlab.check")
        if module is not None:
            for helper in ("close", "equal", "true", "shape"):
                setattr(module, helper, lambda *a, **k: None)
        time.sleep(0.001)
threading.Thread(target=keep_patching, daemon=True).start()
''',
    # an answer that reads the running test cell and returns the value it expects
    "reads_the_test": '''
import ast, inspect, sys
def _expected_from_the_running_cell():
    sources = [frame.frame.f_globals.get("In", [""])[-1] for frame in inspect.stack()]
    sources += [getattr(sys.modules["__main__"], "_ih", [""])[-1]]
    for source in sources:
        for node in ast.walk(ast.parse(source)) if source else []:
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "close" and len(node.args) >= 3:
                return ast.literal_eval(node.args[2])
    return None
def net_input(X, w, T):
    return _expected_from_the_running_cell()
''',
    # a %config line that made the cell unparseable to the static scan, hiding a patch after it
    "config_line": '''
%config Application.log_level = "CRITICAL"
import nnlab.check
nnlab.check.close = nnlab.check.equal = nnlab.check.true = lambda *a, **k: None
''',
    # an answer that prints the running cell (the hidden tests, into the student's own feedback)
    "prints_the_test": '''
import sys
def predict(X, w, T):
    main = sys.modules["__main__"]
    print("THE RUNNING CELL:", getattr(main, "In", [""])[-1], getattr(main, "_ih", [""])[-1])
    raise NotImplementedError()
''',
    # an object that claims to equal everything
    "always_equal": '''
import numpy as np
class Anything(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)
    def __array__(self, dtype=None, copy=None):
        return np.zeros(4)
def update_step(w, x, d, T, eta=1.0):
    return np.zeros(len(w)).view(Anything)
''',
    # the judge's own agent replaced by one that answers every call with None
    "fake_agent": '''
import sys
agent = sys.modules.get("_nnlab_judge_agent")
if agent is not None:
    agent.Agent._call = lambda self, *a: ("return", [None, {}, "", []])
''',
}

# Where each attack goes: the first answer cell (its function stays as it was) unless the attack
# defines a function itself.
TARGET = {"reads_the_test": "net_input", "prints_the_test": "predict", "always_equal": "update_step",
          "fake_agent": "train_perceptron"}
LESSON = "02_perceptron"


def attacked(answers: dict[str, str], attacks: list[str]) -> dict[str, str]:
    """``answers`` with every attack of ``attacks`` planted (appended to the answer cell it targets)."""
    out = dict(answers)
    for name in attacks:
        target = TARGET.get(name, "net_input")
        out[target] = out[target] + "\n" + ATTACKS[name]
    return out


def graded(tmp_path, answers):
    from autograder.submissions import fill_answers, model_answers
    release = nbformat.read(release_path(LESSON), as_version=4)
    solution = nbformat.read(solution_path(LESSON), as_version=4)
    submission = fill_answers(release, answers)
    executed, report = run_notebook(submission, release, solution, scratch=tmp_path, wall_s=300)
    return report, model_answers(solution), solution


def hidden_parts(solution) -> list[str]:
    out = []
    for cell in solution.cells:
        if "### BEGIN HIDDEN TESTS" in cell.source:
            hidden = cell.source.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]
            out += [line.strip() for line in hidden.splitlines() if len(line.strip()) > 25]
    return out


def test_every_attack_on_the_stubs_scores_nothing_and_shows_no_hidden_test(tmp_path):
    from autograder.submissions import model_answers
    solution = nbformat.read(solution_path(LESSON), as_version=4)
    stubs = {grade_id: STUB.format(name=grade_id) for grade_id in model_answers(solution) if grade_id != "why_xor"}
    report, _, solution = graded(tmp_path, attacked(stubs, [n for n in ATTACKS if n not in TARGET]
                                                    + ["reads_the_test", "prints_the_test", "always_equal"]))
    verdicts = report["verdicts"]
    assert verdicts and all(v["status"] != "passed" for v in verdicts.values()), verdicts
    shown = " ".join(v["stdout"] + v["evalue"] for v in verdicts.values())
    leaked = [line for line in hidden_parts(solution) if line in shown]
    assert not leaked, leaked
    assert "THE RUNNING CELL" in shown  # the print ran, and printed nothing of the test
    assert "NotPlainData" in verdicts["update_step_tests"]["ename"]  # the always-equal array: not plain data


def test_the_same_attacks_next_to_correct_answers_change_nothing(tmp_path):
    from autograder.submissions import model_answers
    solution = nbformat.read(solution_path(LESSON), as_version=4)
    honest = [n for n in ATTACKS if n not in TARGET and n != "fake_agent"]
    report, _, _ = graded(tmp_path, attacked(model_answers(solution), honest))
    assert {k: v["status"] for k, v in report["verdicts"].items()} == dict.fromkeys(report["verdicts"], "passed"), \
        report["verdicts"]
