"""The command line that starts one student kernel in a bubblewrap sandbox, under resource limits.

The sandbox sees a read-only system (/usr, /etc…), the Python environment and the `nnlab` package,
and nothing else of the machine: no repository (so no solutions), no course folder (so no
gradebook, no other submission), no network (its own empty network namespace), no other process
(its own PID namespace; when the sandbox's first process dies, everything the student started dies
with it). Its only writable places are size-limited tmpfs of its own, in memory: ``/tmp`` (the
working folder and HOME), ``/dev/shm``, and ``/run/nnlab``, where the kernel binds its sockets.
Nothing of the host is writable from inside, so the kernel cannot fill the host's disk or replace
a file the grader reads: the grader reaches the kernel's sockets through ``/proc/<kernel>/root``,
and the kernel's own output comes back through a pipe.

    prlimit <limits> -- bwrap <mounts> -- [setpriv <slot user> --] python -m ipykernel_launcher -f …

Limits are set with prlimit so they are in place before the first student instruction. When the
pipeline runs as root, the kernel is moved to an unprivileged user of its own per worker slot:
root ignores RLIMIT_NPROC (so a fork bomb would not stop) and must not own student processes.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import sys
from pathlib import Path

from .errors import GraderError
from .limits import Limits

# Unprivileged users for the kernels when the pipeline runs as root: one per worker, so that one
# student's fork bomb counts against its own process limit only. Claimed with a lock file, so that
# two pipelines running at once (two courses, a test suite on several cores) never share one.
SLOT_UID_BASE = 61000
SLOT_LOCKS = Path("/tmp/nnlab-grade-uids")
# System folders the kernel may read (the ones that exist are mounted read-only).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")


# Inside the sandbox: the kernel's connection file and sockets, on a tmpfs of their own.
CONNECTION_DIR = "/run/nnlab"
CONNECTION_FILE = f"{CONNECTION_DIR}/kernel.json"
SOCKETS = f"{CONNECTION_DIR}/kernel"  # the kernel binds SOCKETS-1 … SOCKETS-5
WORKDIR = "/tmp"


class SandboxMissing(GraderError):
    """bubblewrap is not installed, so student code cannot be isolated."""


def bwrap() -> str | None:
    """The path of the bwrap program, or None where bubblewrap is not installed."""
    return shutil.which("bwrap")


def require_bwrap() -> str:
    """The path of bwrap; raises ``SandboxMissing`` with what to do when it is absent."""
    path = bwrap()
    if path is None:
        raise SandboxMissing(
            "bubblewrap (bwrap) is not installed: student code cannot be isolated from the "
            "solutions, the gradebook, other students and the network.\n"
            "Install it (Debian/Ubuntu: apt-get install bubblewrap), or pass --no-sandbox to grade "
            "with resource limits only (only for code you trust).")
    return path


def as_root() -> bool:
    return os.geteuid() == 0


def claim_uids(count: int) -> tuple[list[int], list]:
    """``count`` unprivileged user ids no other pipeline holds, and the open locks that hold them."""
    SLOT_LOCKS.mkdir(mode=0o700, exist_ok=True)
    uids, locks = [], []
    uid = SLOT_UID_BASE
    while len(uids) < count:
        lock = open(SLOT_LOCKS / str(uid), "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            uids.append(uid)
            locks.append(lock)
        except BlockingIOError:
            lock.close()
        uid += 1
    return uids, locks


def readable_paths(hidden: list[Path]) -> list[str]:
    """Folders the kernel must read: the system, Python, the environment and nnlab.

    A folder holding any of the ``hidden`` paths (the repository root with its solutions, the
    course folder) is never mounted; for an editable install only the package folder is.
    """
    wanted = [d for d in SYSTEM_DIRS if os.path.isdir(d)]
    wanted += [sys.base_prefix, sys.prefix]
    nnlab = importlib.util.find_spec("nnlab")
    if nnlab is not None and nnlab.submodule_search_locations:
        wanted += list(nnlab.submodule_search_locations)
    wanted += [p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p]
    chosen: list[str] = []
    for path in sorted({os.path.realpath(p) for p in wanted} | {os.path.abspath(p) for p in wanted}):
        if any(_inside(Path(h), Path(path)) for h in hidden):
            continue  # mounting it would show the solutions or the gradebook
        if not any(_inside(Path(path), Path(c)) for c in chosen):
            chosen.append(path)
    return chosen


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def rlimit_prefix(limits: Limits) -> list[str]:
    """prlimit's command line for ``limits`` (soft CPU limit first: SIGXCPU, then SIGKILL)."""
    processes = limits.processes if as_root() else _my_tasks() + limits.processes
    return [shutil.which("prlimit") or "prlimit",
            f"--as={limits.memory_bytes}",
            f"--cpu={limits.cpu_s}:{limits.cpu_s + 5}",
            f"--nproc={processes}",
            f"--fsize={limits.file_bytes}",
            "--core=0", "--"]


def _my_tasks() -> int:
    """Processes and threads of this user now: RLIMIT_NPROC counts them all, not only ours."""
    uid, count = str(os.getuid()), 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("Uid", "").split()[:1] == [uid]:
            count += int(fields.get("Threads", "1"))
    return count


def environment(home: Path | str, limits: Limits) -> dict[str, str]:
    """The kernel's whole environment: nothing of the instructor's (tokens, paths) leaks in."""
    threads, home = str(limits.threads), str(home)
    return {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home, "MPLCONFIGDIR": f"{home}/.matplotlib", "IPYTHONDIR": f"{home}/.ipython", "TMPDIR": home,
        "MPLBACKEND": "agg", "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
        "NBGRADER_EXECUTION": "autograde", "NNLAB_DEVICE": "cpu",
    }


def bwrap_prefix(connection_file: Path, hidden: list[Path], limits: Limits, uid: int | None) -> list[str]:
    """bwrap's command line: read-only system, tmpfs of bounded size to write in, no network, own PIDs."""
    args = [require_bwrap(), "--die-with-parent", "--new-session"]
    if as_root():  # no user namespace: setpriv below moves the kernel to a real unprivileged user
        args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    else:
        args += ["--unshare-all"]
    # the writable places are tmpfs of bounded size; /tmp first, so that a read-only folder below
    # it (an environment under /tmp) stays visible on top of it
    args += ["--size", str(limits.disk_bytes), "--perms", "1777", "--tmpfs", WORKDIR]
    readable = readable_paths(hidden)
    args += _parent_dirs(readable)
    for path in readable:
        args += ["--ro-bind", path, path]
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(limits.shm_bytes), "--perms", "1777", "--tmpfs", "/dev/shm",
             "--size", str(1 << 20), "--perms", "1777", "--tmpfs", CONNECTION_DIR,
             "--ro-bind", str(connection_file), CONNECTION_FILE,
             # bwrap's own root and /dev are tmpfs too: read-only, so nothing else can be written
             "--remount-ro", "/dev", "--remount-ro", "/",
             "--chdir", WORKDIR, "--hostname", "sandbox", "--clearenv"]
    for name, value in environment(WORKDIR, limits).items():
        args += ["--setenv", name, value]
    args += ["--"]
    if uid is not None:
        args += [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}",
                 "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    return args


def _parent_dirs(paths: list[str]) -> list[str]:
    """Create the folders above the mount points world-traversable (bwrap makes them 0700 as root)."""
    parents = sorted({str(p) for path in paths for p in Path(path).parents if str(p) != "/"})
    args: list[str] = []
    for parent in parents:
        args += ["--perms", "0755", "--dir", parent]
    return args


def prepare_scratch(scratch: Path, uid: int | None) -> Path:
    """The grader's own folder for one kernel (its connection file): never mounted writable, never shared.

    Without the sandbox (``--no-sandbox``) the kernel works in ``scratch/home`` and binds its sockets
    in ``scratch/conn``, as any local kernel would.
    """
    scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
    (scratch / "conn").mkdir(exist_ok=True, mode=0o700)
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    if uid is not None:
        os.chmod(scratch, 0o711)  # the kernel's user reaches its connection file, and lists nothing
    return home


def kernel_command(kernel_argv: list[str], connection_file: Path, hidden: list[Path], limits: Limits,
                   uid: int | None, sandboxed: bool) -> list[str]:
    """The full command that starts the kernel ``kernel_argv`` for one submission.

    In the sandbox the kernel reads its connection file at ``CONNECTION_FILE``: every mention of the
    host's path in ``kernel_argv`` is replaced.
    """
    prefix = rlimit_prefix(limits)
    if not sandboxed:
        return prefix + kernel_argv
    inside = [CONNECTION_FILE if arg == str(connection_file) or arg == os.path.realpath(connection_file) else arg
              for arg in kernel_argv]
    return prefix + bwrap_prefix(connection_file, hidden, limits, uid) + inside


def lock_sockets(kernel: int) -> None:
    """After the kernel has bound its sockets: its socket folder becomes root's, so the student cannot
    replace a socket by a link the grader would follow when it reconnects (only when grading as root)."""
    folder = f"/proc/{kernel}/root{CONNECTION_DIR}"
    os.chown(folder, 0, 0, follow_symlinks=False)
    os.chmod(folder, 0o755)


def descendants(root: int) -> list[int]:
    """Every process below ``root`` in the process tree (read from /proc), nearest first."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            fields = text[text.rindex(")") + 2:].split()  # the command name may hold spaces and ')'
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):  # gone meanwhile, or half-gone (an empty stat)
            continue
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(0), []):
            found.append(child)
            todo.append(child)
    return found


def strays(root: int, kernel: int) -> list[int]:
    """Processes in the sandbox below ``root`` other than the kernel and the processes above it."""
    chain, pid = {root, kernel}, kernel
    while pid not in (root, 0, 1):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            break
        chain.add(pid)
    return [p for p in descendants(root) if p not in chain]


def kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass


def processes_of(uid: int) -> list[int]:
    """Every process whose real user is ``uid``."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            for line in status.read_text().splitlines():
                if line.startswith("Uid:"):
                    if line.split()[1] == str(uid):
                        found.append(int(status.parent.name))
                    break
        except (OSError, ValueError):
            continue
    return found


def clear_user(uid: int, seconds: float = 10.0) -> None:
    """Kill every process of a slot's user (it is only ever a kernel's), and wait until they are gone.

    The next kernel on the slot shares its RLIMIT_NPROC: a fork bomb still dying would stop it
    from starting.
    """
    import time
    deadline = time.monotonic() + seconds
    while (left := processes_of(uid)) and time.monotonic() < deadline:
        kill(left)
        time.sleep(0.05)


def kernel_pid(root: int) -> int | None:
    """The kernel's process below the sandbox's ``root`` process (bwrap's own init sits in between)."""
    for pid in descendants(root):
        try:
            launcher = Path(f"/proc/{pid}/comm").read_text().strip() in ("bwrap", "setpriv", "prlimit")
            if not launcher and b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    return None
