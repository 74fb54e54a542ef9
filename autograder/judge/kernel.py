"""What the pipeline sends into the student's kernel: the agent's source, and the line that serves.

The kernel cannot import ``autograder`` (the sandbox shows it no repository), so the agent arrives as
text: ``codec``, ``wire`` and ``agent`` joined into one module, executed once, silently, when the
kernel starts (``bootstrap_code``, which also opens the socket the judge connects to). A warm kernel
needs no bootstrap: its zygote loaded the same parts, the same way (``autograder/zygote.py``), and
the zygote's child opens the socket before IPython starts. At each test cell's place the pipeline
executes ``serve_code``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULE = "_nnlab_judge_agent"
FILENAME = "<nnlab judge agent>"
PARTS = ("codec.py", "wire.py", "agent.py")


@lru_cache(maxsize=1)
def kernel_source() -> str:
    """The agent as one module's text (standard library and numpy only)."""
    return "\n\n".join((HERE / part).read_text(encoding="utf-8") for part in PARTS)


def bootstrap_code(path: str, token: str) -> str:
    """Code that defines the agent module in the kernel and opens its socket at ``path`` (the
    kernel's view of it); run once, silently, before the notebook's first cell."""
    return ("import sys as _s, types as _t\n"
            f"_m = _t.ModuleType({MODULE!r})\n"
            f"exec(compile({kernel_source()!r}, {FILENAME!r}, 'exec'), _m.__dict__)\n"
            f"_s.modules[{MODULE!r}] = _m\n"
            f"_m.listen({str(path)!r}, {token!r})\n"
            "del _s, _t, _m\n")


def serve_code() -> str:
    """The line executed at a test cell's place: the agent answers the judge until the test is done."""
    return f"__import__({MODULE!r}).serve()"
