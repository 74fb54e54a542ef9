"""Read what a student handed in, in bounded time and memory, or refuse it with a reason.

Everything here runs outside the sandbox, before any code does, on bytes the student controls:

- a file is opened without following symlinks and without blocking (a FIFO, a device or a link to
  /dev/zero is refused), and only ``notebook_bytes`` of it are ever read (a 200 MB notebook is
  refused from its size);
- JSON that nests deeper than ``depth`` (or deep enough to make the parser recurse) is refused;
  so is a notebook with more than ``cells`` cells;
- unreadable JSON, or JSON that is not a notebook, is refused; nbformat 3 is upgraded to 4.

A refusal is a ``Refused`` error with the ``Reason`` and the words the student reads.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import nbformat

from .limits import Limits
from .outcomes import Reason


class Refused(Exception):
    """The submission is not graded as handed in: ``reason`` and a message for the student."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(message)
        self.reason = reason


def read_file(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at ``path`` (at most ``limit``): never follows a link, never blocks."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise Refused(Reason.UNREADABLE, f"{path.name} is a symbolic link, not a file") from None
        raise Refused(Reason.UNREADABLE, f"{path.name} cannot be opened ({error.strerror})") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(Reason.UNREADABLE, f"{path.name} is not a regular file")
        if info.st_size > limit:
            raise Refused(Reason.REFUSED, f"{path.name} is {info.st_size / (1 << 20):.1f} MiB, over the "
                                          f"{limit / (1 << 20):g} MiB a notebook may have")
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(descriptor, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:  # it grew while being read
            raise Refused(Reason.REFUSED, f"{path.name} is over the {limit / (1 << 20):g} MiB a notebook may have")
        return data
    finally:
        os.close(descriptor)


def depth_over(value, limit: int) -> bool:
    """Whether ``value`` (parsed JSON) nests deeper than ``limit`` levels; iterative, so never recursing."""
    todo = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            todo += [(child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)]
    return False


def parse(data: bytes, limits: Limits = Limits()):
    """``data`` as a notebook in nbformat 4; returns ``(notebook, notes)`` or raises ``Refused``."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Refused(Reason.UNREADABLE, f"the file is not valid JSON ({str(error)[:200]})") from None
    except RecursionError:
        raise Refused(Reason.REFUSED, f"the file's JSON nests deeper than the {limits.depth} levels allowed") from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise Refused(Reason.UNREADABLE, "the file is JSON but not a Jupyter notebook (no 'nbformat' field)")
    if depth_over(raw, limits.depth):
        raise Refused(Reason.REFUSED, f"the file's JSON nests deeper than the {limits.depth} levels allowed")
    cells = raw.get("cells")
    if cells is None and isinstance(raw.get("worksheets"), list):  # nbformat 3
        cells = [c for sheet in raw["worksheets"] if isinstance(sheet, dict) for c in sheet.get("cells", [])]
    if isinstance(cells, list) and len(cells) > limits.cells:
        raise Refused(Reason.REFUSED, f"the notebook has {len(cells)} cells, over the {limits.cells} allowed")
    version = raw.get("nbformat")
    if not isinstance(version, int) or isinstance(version, bool) or not 3 <= version <= 4:
        raise Refused(Reason.UNREADABLE, f"nbformat {version!r} is not a notebook format this grader reads (3 or 4)")
    notes = [f"upgraded from nbformat {version} to 4"] if version < 4 else []
    try:
        notebook = nbformat.reads(json.dumps(raw), as_version=4)
        nbformat.validate(notebook)
    except RecursionError:
        raise Refused(Reason.REFUSED, "the notebook nests too deeply to be checked") from None
    except Exception as error:  # nbformat raises several types for malformed notebooks
        raise Refused(Reason.UNREADABLE, f"the notebook's structure is broken ({type(error).__name__}: "
                      f"{str(error).splitlines()[0][:300] if str(error) else ''})") from None
    return notebook, notes
