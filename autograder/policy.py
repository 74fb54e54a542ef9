"""What student code may not do to the grading: a static scan of the code the student wrote.

Test cells run in the student's kernel, so code that reaches into the grader there could fake a
pass. The executor already re-imports the check helpers fresh for every test cell and judges each
cell by the kernel's reply; this scan refuses, before anything runs, the tricks that would get
around that: changing attributes of imported modules (``check.close = …``, ``np.testing.… = …``),
rebinding the names tests rely on (``np``, ``check``, ``AssertionError``…), and the tools for doing
so indirectly (``setattr`` on a module, ``__dict__``, ``builtins``, ``sys.modules``, ``exec``,
``get_ipython``, ``ctypes``…). A flagged submission is not run and scores 0, with the reason.

Only code the student wrote or changed is scanned: cells identical to a cell of the release are
the instructor's.
"""

from __future__ import annotations

import ast
import builtins

FORBIDDEN_CALLS = {"exec", "eval", "compile", "__import__", "get_ipython", "globals", "vars", "breakpoint"}
FORBIDDEN_MODULES = {"builtins", "ctypes", "gc", "importlib", "IPython", "ipykernel", "inspect", "_thread"}
# dunders that open a back door to other objects' internals (not __init__, __eq__, __repr__…)
FORBIDDEN_DUNDERS = {"__dict__", "__setattr__", "__delattr__", "__builtins__", "__globals__", "__code__",
                     "__class__", "__subclasses__", "__bases__", "__mro__", "__closure__", "__module__",
                     "__getattribute__", "__import__", "__loader__", "__spec__"}
SETTERS = {"setattr", "delattr"}
ALWAYS_PROTECTED = {"AssertionError", "Exception", "BaseException", "print", "isinstance"}


def violations(student_sources: list[str], instructor_sources: list[str]) -> list[str]:
    """Why the student's code may not be run for grading (empty when it may).

    ``instructor_sources``: the cells of the reference (tests with their hidden part included),
    whose imports and builtins the student may not redefine.
    """
    protected = _imported_names(instructor_sources) | (_names_used(instructor_sources) & set(dir(builtins))) \
        | ALWAYS_PROTECTED
    found: list[str] = []
    for source in student_sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # it will fail when run; nothing to fear from it
        found += _scan(tree, protected)
    return list(dict.fromkeys(found))  # unique, in order


def _imported_names(sources: list[str]) -> set[str]:
    """Names the instructor's cells bind by importing (np, plt, check, datasets, torch…)."""
    names = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _names_used(sources: list[str]) -> set[str]:
    """Every name the instructor's code reads: the builtins among them must keep their meaning."""
    names = set()
    for source in sources:
        try:
            names |= {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
        except SyntaxError:
            continue
    return names


def _root(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None


def _scan(tree, protected: set[str]) -> list[str]:
    imported = _imported_names([ast.unparse(tree)]) | protected
    found = []
    for node in ast.walk(tree):
        found += _attribute_writes(node, imported)
        found += _calls(node, imported)
        found += _imports(node)
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_DUNDERS:
            found.append(f"uses {node.attr} (line {node.lineno})")
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_DUNDERS:
            found.append(f"uses {node.id} (line {node.lineno})")
        if isinstance(node, ast.Global):
            found += [f"declares global {n} (line {node.lineno})" for n in node.names if n in protected]
    found += _rebindings(tree, protected)
    return found


def _attribute_writes(node, imported: set[str]) -> list[str]:
    targets = []
    if isinstance(node, (ast.Assign, ast.Delete)):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    out = []
    for target in targets:
        for part in ast.walk(target):
            if isinstance(part, ast.Attribute) and _root(part) in imported:
                out.append(f"changes {ast.unparse(part)} (line {part.lineno})")
    return out


def _calls(node, imported: set[str]) -> list[str]:
    if not isinstance(node, ast.Call):
        return []
    name = node.func.id if isinstance(node.func, ast.Name) else None
    if name in FORBIDDEN_CALLS:
        return [f"calls {name}() (line {node.lineno})"]
    if name in SETTERS and node.args and _root(node.args[0]) in imported:
        return [f"calls {name}() on {ast.unparse(node.args[0])} (line {node.lineno})"]
    if name == "getattr" and any(isinstance(a, ast.Constant) and a.value in FORBIDDEN_DUNDERS for a in node.args):
        return [f"reaches a dunder through getattr() (line {node.lineno})"]
    if isinstance(node.func, ast.Attribute) and node.func.attr == "modules" and _root(node.func) == "sys":
        return [f"uses sys.modules (line {node.lineno})"]
    return []


def _imports(node) -> list[str]:
    if isinstance(node, ast.Import):
        modules = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        modules = [node.module or ""]
        if node.module == "sys" and any(a.name == "modules" for a in node.names):
            return [f"imports sys.modules (line {node.lineno})"]
    else:
        return []
    return [f"imports {m} (line {node.lineno})" for m in modules if m.split(".")[0] in FORBIDDEN_MODULES]


def _bound_names(target) -> list[str]:
    """The plain names an assignment target binds (``a``, ``a, b``, ``*a``), not ``a.b`` or ``a[0]``."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for element in target.elts for n in _bound_names(element)]
    if isinstance(target, ast.Starred):
        return _bound_names(target.value)
    return []


def _rebindings(tree, protected: set[str]) -> list[str]:
    """Top-level definitions that shadow a builtin or a name the instructor imported."""
    out = []
    for node in tree.body:
        names = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.With)):
            targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
            targets += [item.optional_vars for item in getattr(node, "items", [])]
            names = [n for t in targets if t is not None for n in _bound_names(t)]
        out += [f"redefines {n} (line {node.lineno})" for n in names if n in protected]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and node.attr == "modules" \
                and _root(node) == "sys":
            out.append(f"uses sys.modules (line {node.lineno})")
    return out
