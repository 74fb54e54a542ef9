"""The judge: the instructor's fixture and test cells, run against a student's kernel through proxies.

``Judge`` holds one namespace per student. It runs the release's fixture cells (cells tagged
``fixture``: the lesson's imports, data sets, reference functions) once, then each test cell (its
visible and hidden parts, from the gradebook's copy) when the notebook reaches it. Before a test
cell runs, every name it (or a fixture function it calls) reads without binding it and that the
namespace lacks (``free_names``) is looked up in the kernel in one round trip: student functions
and classes become proxies, data is fetched as data (``session``). Fixture functions decorated with
``@check.in_kernel`` are defined in the kernel from the release's source before every test (a
student's edited copy never runs) and replaced, for the test, by proxies of that kernel copy, so
they run next to the student's live objects and return data.

No student code is ever imported or executed here: the namespace only ever holds the instructor's
code, plain data and proxies. A test cell's verdict is ``passed``, ``failed`` (an AssertionError,
such as ``nnlab.check``'s ``CheckFailure``: its message is the feedback) or ``error`` (any other
exception: the stub's ``NotImplementedError``, a ``NameError`` for a missing function, "returned a
generator, expected …"), with what the test printed. When the kernel is lost (``KernelGone``), the
test and every later one get the reason.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import symtable
import textwrap
import time

from .session import KernelGone, Remote, Session

STDOUT_LIMIT = 20_000
MESSAGE_LIMIT = 4000
PASSED, FAILED, ERROR = "passed", "failed", "error"


def verdict(status: str, stdout: str = "", ename: str = "", evalue: str = "", result=None, seconds: float = 0.0,
            exchanges: int = 0) -> dict:
    """One test cell's verdict as plain data (what the pipeline turns into the cell's outputs); ``exchanges``:
    the round trips it took with the kernel (requests and callbacks: what a test's loops cost, CONTRIBUTING.md)."""
    return {"status": str(status), "stdout": str(stdout)[:STDOUT_LIMIT], "ename": str(ename)[:100],
            "evalue": str(evalue)[:MESSAGE_LIMIT], "result": result, "seconds": round(float(seconds), 3),
            "exchanges": int(exchanges)}


def free_names(source: str) -> set[str]:
    """The names the code reads and never binds at its top level: those that must come from elsewhere (a
    fixture, the kernel). A name the cell binds anywhere is its own, even where it is read first (that
    reading then fails in the judge, for every student alike, and the lesson's own solution shows it).
    In functions, classes and comprehensions only their global names count, not their locals."""
    try:
        table = symtable.symtable(source, "<cell>", "exec")
    except SyntaxError:
        return set()
    own = {symbol.get_name() for symbol in table.get_symbols() if symbol.is_assigned() or symbol.is_imported()}
    read: set[str] = set()
    scopes = [table]
    while scopes:
        scope = scopes.pop()
        read |= {symbol.get_name() for symbol in scope.get_symbols()
                 if symbol.is_referenced() and (scope is table or symbol.is_global())}
        scopes += scope.get_children()
    return read - own


def in_kernel_sources(source: str) -> dict[str, str]:
    """The ``@check.in_kernel`` functions of a fixture cell: name -> their source without that decorator."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found = {}
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        marks = [d for d in node.decorator_list if _is_in_kernel(d)]
        if not marks:
            continue
        keep = [d for d in node.decorator_list if d not in marks]
        decorators = "".join("@" + ast.get_source_segment(source, d) + "\n" for d in keep)
        text = "\n".join(source.splitlines()[node.lineno - 1:node.end_lineno])  # from the 'def' line
        found[node.name] = decorators + _dedent(text)
    return found


def _is_in_kernel(decorator) -> bool:
    return (isinstance(decorator, ast.Attribute) and decorator.attr == "in_kernel") or \
        (isinstance(decorator, ast.Name) and decorator.id == "in_kernel")


def _dedent(text: str) -> str:
    return textwrap.dedent(text)


class Judge:
    """One student's grading: the instructor's cells, one namespace, one kernel at a time."""

    def __init__(self, fixtures: list[str], tests: dict[str, str]):
        self.fixtures, self.tests = list(fixtures), dict(tests)
        self.namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
        self.in_kernel: dict[str, str] = {}
        self.fixture_names: set[str] = set()
        self.fixture_errors: list[str] = []
        self.lost: str | None = None
        self.borrowed: set[str] = set()   # modules the tests took from the notebook's imports (not a fixture's)
        self.fetched: set[str] = set()    # values the tests read from the student's namespace

    def notes(self) -> list[str]:
        """For the instructor's log: what in the release does not follow the test-cell contract."""
        out = list(self.fixture_errors)
        if self.borrowed:
            out.append("test cells use " + ", ".join(sorted(self.borrowed)) + " from the notebook's imports: "
                       "import them in the test cell or tag the import cell 'fixture' (CONTRIBUTING.md)")
        if self.fetched:
            out.append("test cells read " + ", ".join(sorted(self.fetched)) + " from the student's namespace (the "
                       "student controls it): define them in a fixture cell, or recompute them in the test")
        return out

    def run_fixtures(self) -> str:
        """Run the fixture cells in order; what they printed (an error is recorded, not raised)."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            for index, source in enumerate(self.fixtures):
                self.in_kernel.update(in_kernel_sources(source))
                self.fixture_names |= free_names(source)
                try:
                    exec(compile(source, f"<fixture {index}>", "exec"), self.namespace)
                except BaseException as error:  # noqa: B036: an instructor's bug, recorded for the log
                    self.fixture_errors.append(f"fixture cell {index}: {type(error).__name__}: {error}"[:1000])
        return out.getvalue()

    def run_test(self, grade_id: str, session: Session | None) -> dict:
        """Run test ``grade_id`` against the kernel behind ``session``; its verdict."""
        started = time.monotonic()
        source = self.tests[grade_id]
        if self.lost or session is None:
            return verdict(ERROR, ename="GradingError", evalue=f"this test did not run: {self.lost or 'no kernel'}")
        out = io.StringIO()
        exchanges = session.exchanges
        inserted: dict[str, object] = {}
        saved_in_kernel: dict[str, object] = {}
        session.namespace, session.notes_seen = self.namespace, set()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                try:
                    inserted, saved_in_kernel = self._bind(source, session)
                    result = self._execute(source, grade_id)
                    status, ename, evalue = PASSED, "", ""
                except KernelGone as gone:
                    self.lost = str(gone)
                    status, ename, evalue, result = ERROR, "GradingError", f"the test could not finish: {gone}", None
                except AssertionError as failure:
                    status, ename, evalue, result = FAILED, type(failure).__name__, _message(failure), None
                except BaseException as error:  # noqa: B036: the student's exception, or a refusal
                    status, ename, evalue, result = ERROR, type(error).__name__, _message(error), None
        finally:
            for name, value in inserted.items():
                if self.namespace.get(name) is value:
                    del self.namespace[name]
            self.namespace.update(saved_in_kernel)
            session.tracked, session.namespace = {}, None
            self.borrowed |= session.borrowed
            self.fetched |= session.fetched
        return verdict(status, out.getvalue(), ename, evalue, result, time.monotonic() - started,
                       session.exchanges - exchanges)

    def _bind(self, source: str, session: Session):
        """Proxies for the names the test needs from the kernel, and the kernel's in-kernel fixtures."""
        kernel_side = [name for name in self.in_kernel if name in self.namespace]
        for name in kernel_side:  # the release's source, every time: never the student's copy of it
            session.define(name, self.in_kernel[name])
        defined = session.defined()
        wanted = (free_names(source) | self.fixture_names) - set(self.namespace) - set(dir(builtins))
        wanted &= defined
        found = session.resolve(sorted(wanted | set(kernel_side)))
        saved = {name: self.namespace[name] for name in kernel_side if isinstance(found.get(name), Remote)}
        inserted = {name: value for name, value in found.items() if name in wanted or name in saved}
        self.namespace.update(inserted)
        session.tracked = {name: value for name, value in inserted.items() if isinstance(value, Remote)}
        return {n: v for n, v in inserted.items() if n not in saved}, saved

    def _execute(self, source: str, grade_id: str):
        """Execute the cell; a final expression's value is returned (nbgrader's partial credit)."""
        tree = ast.parse(source, f"<test {grade_id}>")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, f"<test {grade_id}>", "exec"), self.namespace)
        if last is None:
            return None
        value = eval(compile(ast.Expression(last.value), f"<test {grade_id}>", "eval"), self.namespace)
        return None if value is None else repr(value)[:MESSAGE_LIMIT]  # shown as IPython would


def _message(error: BaseException) -> str:
    try:
        return str(error)[:MESSAGE_LIMIT]
    except Exception:
        return type(error).__name__
