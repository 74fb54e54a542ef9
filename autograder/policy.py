"""What student code may not do to the grading: a static scan of the code the student wrote.

Test cells run in the student's kernel, so code that reaches into the grader there could fake a
pass. The executor already re-imports the check helpers fresh for every test cell and judges each
cell by the kernel's reply; this scan refuses, before anything runs, the tricks that would get
around that: changing attributes of imported modules (``check.close = …``, ``np.testing.… = …``),
rebinding at the top level the modules and builtins the tests read without importing them (``np``,
``AssertionError``…), and the tools for doing so indirectly (``setattr`` on a module, ``__dict__``,
``builtins``, ``sys.modules``, ``exec``, ``get_ipython``, ``ctypes``…). A flagged submission is
not run and scores 0, with the reason.

What it must never flag is ordinary code a lesson teaches: a module function inside a subscript or
a value (``out[np.arange(n), y] = 1``), a name bound inside a function (locals shadow nothing the
tests see), a variable named like an imported *function* (``device = torch.device("cpu")``), or a
module name that every test cell imports again itself (a loop variable named ``check``).

Only code the student wrote or changed is scanned: cells identical to a cell of the release are
the instructor's. The scan goes away with the judge process (the verdict outside the kernel).
"""

from __future__ import annotations

import ast
import builtins
import importlib.machinery
import importlib.util
import symtable
from functools import lru_cache
from pathlib import Path

FORBIDDEN_CALLS = {"exec", "eval", "compile", "__import__", "get_ipython", "globals", "vars", "breakpoint"}
FORBIDDEN_MODULES = {"builtins", "ctypes", "gc", "importlib", "IPython", "ipykernel", "inspect", "_thread"}
# dunders that open a back door to other objects' internals (not __init__, __eq__, __repr__…)
FORBIDDEN_DUNDERS = {"__dict__", "__setattr__", "__delattr__", "__builtins__", "__globals__", "__code__",
                     "__class__", "__subclasses__", "__bases__", "__mro__", "__closure__", "__module__",
                     "__getattribute__", "__import__", "__loader__", "__spec__"}
SETTERS = {"setattr", "delattr"}
ALWAYS_PROTECTED = {"AssertionError", "Exception", "BaseException", "print", "isinstance"}
# What ast.parse raises on hostile source: a 3,000-term sum recurses (RecursionError), deep nesting
# overflows the parser's stack (MemoryError), a NUL byte is a ValueError.
UNPARSEABLE = (SyntaxError, ValueError, RecursionError, MemoryError)


def parse(source: str):
    """The module AST of ``source``, or None when Python cannot parse it (it will fail when run)."""
    try:
        return ast.parse(source)
    except UNPARSEABLE:
        return None


def violations(student_sources: list[str], instructor_sources: list[str],
               test_sources: list[str] | None = None) -> list[str]:
    """Why the student's code may not be run for grading (empty when it may).

    ``instructor_sources``: every instructor code cell of the reference (tests with their hidden
    part included); ``test_sources``: the test cells among them (default: all of them). A module or
    builtin that a test cell reads without binding it itself may not be rebound at the top level.
    """
    tests = instructor_sources if test_sources is None else test_sources
    free = set().union(*(_free_names(source) for source in tests)) if tests else set()
    modules = _module_names(instructor_sources)
    protected = (free & (modules | set(dir(builtins)))) | ALWAYS_PROTECTED
    found: list[str] = []
    for source in student_sources:
        tree = parse(source)
        if tree is None:
            continue  # it will fail when run; nothing to fear from it
        found += _scan(tree, modules | _module_names_in(tree), protected)
    return list(dict.fromkeys(found))  # unique, in order


def _module_names(sources: list[str]) -> set[str]:
    """Names the instructor's cells bind to a module by importing (np, torch, nn, F, check…)."""
    names: set[str] = set()
    for source in sources:
        tree = parse(source)
        if tree is not None:
            names |= _module_names_in(tree)
    return names


def _module_names_in(tree) -> set[str]:
    """Names ``tree`` binds to modules: ``import a.b [as c]``, and ``from a import b`` where a.b is a module.

    ``from nnlab.backend import device`` binds a function: a student's own ``device = …`` shadows
    nothing a test could be fooled by, so such names are not protected.
    """
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {a.asname or a.name for a in node.names if _is_module(f"{node.module}.{a.name}")}
    return names


@lru_cache(maxsize=None)
def _is_module(dotted: str) -> bool:
    """Whether ``dotted`` names a module or package, found on disk without importing anything."""
    top, *rest = dotted.split(".")
    try:
        spec = importlib.util.find_spec(top)  # a top-level spec is found without importing
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    locations = list(spec.submodule_search_locations or [])
    for position, part in enumerate(rest):
        found = None
        for location in locations:
            folder = Path(location) / part
            if folder.is_dir():
                found = [str(folder)]
                break
            if any((Path(location) / f"{part}{suffix}").is_file() for suffix in importlib.machinery.all_suffixes()):
                found = []  # a plain module: it has no submodules
                break
        if found is None or (not found and position < len(rest) - 1):
            return False
        locations = found
    return True


def _free_names(source: str) -> set[str]:
    """Global names ``source`` reads without binding them itself (its own imports and assignments)."""
    try:
        top = symtable.symtable(source, "<test cell>", "exec")
    except UNPARSEABLE:
        return set()
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    free, tables = set(), [top]
    while tables:
        table = tables.pop()
        for symbol in table.get_symbols():
            if symbol.is_referenced() and (symbol.is_global() or table is top):
                free.add(symbol.get_name())
        tables += table.get_children()
    return free - bound


def _root(node) -> str | None:
    """The name at the start of an attribute, item or call chain (``np`` of ``np.a[0].b()``), never of an index."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None


def _text(node) -> str:
    """``node`` as source for a message (bounded: a hostile chain may be too deep to unparse)."""
    try:
        return ast.unparse(node)[:80]
    except UNPARSEABLE:
        return "an attribute"


def _scan(tree, modules: set[str], protected: set[str]) -> list[str]:
    """Every violation in ``tree``, in source order. Iterative: a 2,000-term sum parses, and must not
    overflow the grader's stack here."""
    found: list[str] = []
    todo = [(tree, frozenset())]  # a node, and the names local to the function it sits in
    while todo:
        node, local = todo.pop()
        is_module = lambda name: name in modules and name not in local  # noqa: E731
        found += _node_violations(node, is_module, protected)
        inner = local | _local_names(node) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) \
            else local
        todo += [(child, inner) for child in reversed(list(ast.iter_child_nodes(node)))]
    return found + _rebindings(tree, protected)


def _node_violations(node, is_module, protected: set[str]) -> list[str]:
    """What this one node does to the grading (its children are looked at on their own)."""
    if isinstance(node, (ast.Assign, ast.Delete)):
        return [v for target in node.targets for v in _writes(target, is_module)]
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return _writes(node.target, is_module)
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name in FORBIDDEN_CALLS:
            return [f"calls {name}() (line {node.lineno})"]
        if name in SETTERS and node.args and is_module(_root(node.args[0])):
            return [f"calls {name}() on {_text(node.args[0])} (line {node.lineno})"]
        if name == "getattr" and any(isinstance(a, ast.Constant) and a.value in FORBIDDEN_DUNDERS for a in node.args):
            return [f"reaches a dunder through getattr() (line {node.lineno})"]
        return []
    if isinstance(node, ast.Import):
        return [f"imports {a.name} (line {node.lineno})" for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if module == "sys" and any(a.name == "modules" for a in node.names):
            return [f"imports sys.modules (line {node.lineno})"]
        return [f"imports {module} (line {node.lineno})"] if module.split(".")[0] in FORBIDDEN_MODULES else []
    if isinstance(node, ast.Attribute):
        if node.attr in FORBIDDEN_DUNDERS:
            return [f"uses {node.attr} (line {node.lineno})"]
        return [f"uses sys.modules (line {node.lineno})"] if node.attr == "modules" and _root(node) == "sys" else []
    if isinstance(node, ast.Name):
        return [f"uses {node.id} (line {node.lineno})"] if node.id in FORBIDDEN_DUNDERS else []
    if isinstance(node, ast.Global):
        return [f"declares global {n} (line {node.lineno})" for n in node.names if n in protected]
    return []


def _writes(target, is_module) -> list[str]:
    """A target that changes a module: ``np.x = …``, ``check.table[k] = …``; not ``out[np.arange(n), y] = …``.

    Only the chain that is written to counts, never the index or the value: a subscript's index
    only reads its names.
    """
    found, todo = [], [target]
    while todo:
        target = todo.pop()
        if isinstance(target, (ast.Tuple, ast.List)):
            todo += reversed(target.elts)
        elif isinstance(target, ast.Starred):
            todo.append(target.value)
        elif isinstance(target, ast.Attribute) and is_module(_root(target.value)):
            found.append(f"changes {_text(target)} (line {target.lineno})")
        elif isinstance(target, ast.Subscript) and not isinstance(target.value, ast.Name) \
                and is_module(_root(target.value)):
            found.append(f"changes {_text(target.value)} (line {target.lineno})")
    return found


def _local_names(function) -> set[str]:
    """The names local to ``function``: its parameters and what its own body binds (not ``global`` ones)."""
    args = function.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    declared: set[str] = set()
    body = function.body if isinstance(function.body, list) else [function.body]
    todo = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared |= set(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        # an import inside the function binds a local, but to the module every test shares: not masked
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            todo += node.decorator_list  # its body is a scope of its own
            continue
        if isinstance(node, ast.Lambda):
            continue
        todo += list(ast.iter_child_nodes(node))
    return names - declared


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
    """Top-level definitions that shadow a protected name (names bound inside a function are its own)."""
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
    return out
