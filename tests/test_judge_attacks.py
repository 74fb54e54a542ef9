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
    # a %config line that made the cell unparseable to the static scan, hiding a patch after it
    "config_line": '''
%config Application.log_level = "CRITICAL"
import nnlab.check
nnlab.check.close = nnlab.check.equal = nnlab.check.true = lambda *a, **k: None
''',
    # torch patched through an alias: every comparison of tensors says "equal"
    "torch_alias": '''
import importlib.util
if importlib.util.find_spec("torch"):
    import torch as T
    T.allclose = T.equal = lambda *a, **k: True
    T.Tensor.__eq__ = lambda self, other: T.ones_like(self, dtype=T.bool)
''',
}

# Attacks that define one of the lesson's functions: the source, with {define} the function's def line.
READS_THE_TEST = '''
import ast, inspect, sys
def _expected_from_the_running_cell():
    sources = [frame.frame.f_globals.get("In", [""])[-1] for frame in inspect.stack()]
    sources += [getattr(sys.modules["__main__"], "_ih", [""])[-1]]
    for source in sources:
        for node in ast.walk(ast.parse(source)) if source else []:
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "close" and len(node.args) >= 3:
                return ast.literal_eval(node.args[2])
    return None
{define}
    return _expected_from_the_running_cell()
'''
PRINTS_THE_TEST = '''
import sys
{define}
    main = sys.modules["__main__"]
    print("THE RUNNING CELL:", getattr(main, "In", [""])[-1], getattr(main, "_ih", [""])[-1])
    raise NotImplementedError()
'''
ALWAYS_EQUAL = '''
import numpy as np
class Anything(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)
    def __array__(self, dtype=None, copy=None):
        return np.zeros(4)
{define}
    return np.zeros(4).view(Anything)
'''
ALWAYS_EQUAL_TENSOR = '''
import torch
class Anything(torch.Tensor):
    def __eq__(self, other):
        return torch.ones_like(torch.as_tensor(other), dtype=torch.bool)
{define}
    return torch.zeros(()).as_subclass(Anything)
'''
# the judge's own agent replaced by one that answers every call with None
FAKE_AGENT = '''
import sys
agent = sys.modules.get("_nnlab_judge_agent")
if agent is not None:
    agent.Agent._call = lambda self, *a: ("return", [None, {}, "", []])
'''
# the lesson's kernel-side fixture replaced by one that reports a perfect MLP
FAKE_IN_KERNEL = '''
import numpy as np
class MLP:
    def __init__(self, *args):
        raise NotImplementedError()
def probe_mlp(model_class, args=(), weights=None, x=None, where="cpu"):
    n_in, n_hidden, n_out = (list(args) + [64, 64, 10][len(args):])[:3]
    out = None if x is None else np.maximum(np.asarray(x, float) @ np.asarray(weights["hidden.weight"]).T
                                            + weights["hidden.bias"], 0) @ np.asarray(weights["output.weight"]).T \\
        + weights["output.bias"]
    return {"error": None, "is_module": True, "parameters": (n_in + 1) * n_hidden + (n_hidden + 1) * n_out,
            "layers": {"hidden": ["Linear", [n_hidden, n_in]], "output": ["Linear", [n_out, n_hidden]]},
            "out": out, "device": where, "gradients_everywhere": True}
'''

# For each lesson: the attacks that define a function, as (answer cell, source); the generic attacks
# go into the lesson's first answer cell, after whatever it holds.
TARGETED = {
    "02_perceptron": {
        "reads_the_test": ("net_input", READS_THE_TEST.format(define="def net_input(X, w, T):")),
        "prints_the_test": ("predict", PRINTS_THE_TEST.format(define="def predict(X, w, T):")),
        "always_equal": ("update_step", ALWAYS_EQUAL.format(define="def update_step(w, x, d, T, eta=1.0):")),
        "fake_agent": ("train_perceptron", FAKE_AGENT),
    },
    "08_numpy_to_pytorch": {
        "reads_the_test": ("affine_layer", READS_THE_TEST.format(define="def affine_forward(x, W, b):")),
        "prints_the_test": ("relu_layer", PRINTS_THE_TEST.format(define="def relu_forward(x):")),
        "always_equal": ("softmax_cross_entropy",
                         ALWAYS_EQUAL_TENSOR.format(define="def softmax_cross_entropy(scores, t):")),
        "fake_in_kernel": ("mlp_module", FAKE_IN_KERNEL),
        "fake_agent": ("accuracy_on", FAKE_AGENT),
    },
}
FIRST_ANSWER = {"02_perceptron": "net_input", "08_numpy_to_pytorch": "affine_layer"}


def attacked(lesson: str, answers: dict[str, str], names: list[str]) -> dict[str, str]:
    """``answers`` with the attacks ``names`` planted: a targeted attack appended to its answer cell (its
    definitions come last, so they win), a generic one to the lesson's first answer cell."""
    out = dict(answers)
    for name in names:
        cell, source = TARGETED[lesson].get(name, (FIRST_ANSWER[lesson], ATTACKS.get(name)))
        out[cell] = out[cell] + "\n" + source
    return out


def stubs(solution) -> dict[str, str]:
    """The release's stubs, as a student who wrote nothing hands them in (code answers only)."""
    from support.submissions import model_answers
    import re
    out = {}
    for grade_id, source in model_answers(solution).items():
        names = re.findall(r"^(?:def|class) (\w+)", source, re.M)
        if names:
            out[grade_id] = "".join(STUB.format(name=name) for name in names)
    return out


def graded(tmp_path, lesson, answers):
    from support.submissions import fill_answers
    release = nbformat.read(release_path(lesson), as_version=4)
    solution = nbformat.read(solution_path(lesson), as_version=4)
    executed, report = run_notebook(fill_answers(release, answers), release, solution, scratch=tmp_path, wall_s=300)
    return report, solution


def hidden_parts(solution) -> list[str]:
    out = []
    for cell in solution.cells:
        if "### BEGIN HIDDEN TESTS" in cell.source:
            hidden = cell.source.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0]
            out += [line.strip() for line in hidden.splitlines() if len(line.strip()) > 25]
    return out


@pytest.mark.parametrize("lesson", sorted(TARGETED))
def test_every_attack_on_the_stubs_scores_nothing_and_shows_no_hidden_test(tmp_path, lesson):
    solution = nbformat.read(solution_path(lesson), as_version=4)
    report, solution = graded(tmp_path, lesson, attacked(lesson, stubs(solution), list(ATTACKS) + list(TARGETED[lesson])))
    verdicts = report["verdicts"]
    assert verdicts and all(v["status"] != "passed" for v in verdicts.values()), verdicts
    shown = " ".join(v["stdout"] + v["evalue"] for v in verdicts.values())
    leaked = [line for line in hidden_parts(solution) if line in shown]
    assert not leaked, leaked
    assert "THE RUNNING CELL" in shown  # the print ran, and printed nothing of the test
    cell = TARGETED[lesson]["always_equal"][0]
    assert verdicts[f"{cell}_tests"]["ename"] == "NotPlainData", verdicts[f"{cell}_tests"]


def test_the_same_attacks_next_to_correct_answers_change_nothing(tmp_path):
    from support.submissions import model_answers
    lesson = "02_perceptron"
    solution = nbformat.read(solution_path(lesson), as_version=4)
    report, _ = graded(tmp_path, lesson, attacked(lesson, model_answers(solution), list(ATTACKS)))
    assert {k: v["status"] for k, v in report["verdicts"].items()} == dict.fromkeys(report["verdicts"], "passed"), \
        report["verdicts"]
