"""Warm kernels: a submission's kernel is forked from a pre-imported zygote instead of started cold.

A cold kernel pays, for every submission, bubblewrap's set-up, the interpreter's start, ipykernel's
imports and then the notebook's own ``import torch``: 2–5 s before the first line of the student's
work. Here one process per grading run (per worker machine), the zygote (``autograder/zygote.py``),
pays them once, inside a sandbox built like a kernel's (``sandbox.py``: read-only system and
environment, no repository, no course folder, no network, its own PIDs), and forks a child per
submission. Each child makes its own sandbox inside the zygote's before any student code runs: new
mount, PID, network, IPC and UTS namespaces, fresh size-bounded tmpfs for ``/tmp``, ``/dev/shm`` and
its socket folder, a ``/proc`` of its own, the zygote's control socket unmounted, resource limits,
every capability dropped, the slot's unprivileged user when grading as root, ``no_new_privs``. No
state crosses between students: each child starts from the zygote's untouched memory (it imported,
it never ran a notebook), and everything a kernel wrote or started dies with its namespaces.

The zygote keeps the capabilities it needs to make namespaces and mounts (CAP_SYS_ADMIN, CAP_SETUID,
CAP_SETGID, CAP_SETPCAP; inside a user namespace of its own when the grader is not root). It only
ever forks: it never reads a kernel's connection file (that arrives as a file descriptor, read by
the child) and keeps nothing of a request after the fork.

For jupyter_client the child is a ``WarmChild``, a ``Popen``-like handle (``pid`` is the child's pid on
this machine, ``kernel_pid`` the kernel's), and ``WarmProvisioner`` launches it in place of a
process; the kernel's sockets are reached through ``/proc/<kernel>/root`` as for a cold sandbox.

``execute.execute`` forks every sandboxed kernel from ``shared(hidden)``: the process's zygote for
those hidden folders, started on its first use (or installed by the queue's worker before its pool
forks, ``install``). ``NNLAB_WARM=0`` starts every kernel cold; a zygote that cannot start is said
once and every kernel then starts cold.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from . import sandbox
from .errors import GraderError
from .judge import kernel as judge_kernel
from .limits import Limits
from .preload import LESSON_IMPORTS

HERE = Path(__file__).resolve().parent
SCRIPT = "/run/nnlab-zygote.py"
CONTROL_DIR = "/run/nnlab-zygote"
SHARED = "/run/nnlab-shared"
AGENT_DIR = "/run/nnlab-agent"  # the judge's agent's parts, which the zygote loads for its kernels
# What the zygote imports once: the kernel's own modules, and what the lessons import.
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "IPython", *LESSON_IMPORTS)
CAPABILITIES = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")


class ZygoteError(GraderError):
    """The zygote could not be started or did not answer."""


def ns_pids(pid: int) -> list[int]:
    """The pid of ``pid`` in each PID namespace it is in, outermost first (``NSpid`` of /proc/<pid>/status)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return [int(x) for x in line.split()[1:]]
    except (OSError, ValueError):
        pass
    return []


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(x) for x in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return sorted(set(found))


class Zygote:
    """One pre-imported process in a sandbox; ``spawn`` forks a sandboxed kernel from it."""

    def __init__(self, hidden: list[Path], limits: Limits | None = None, *, shared: Path | None = None,
                 preload: tuple[str, ...] = PRELOAD):
        self.hidden, self.limits = [Path(h) for h in hidden], limits or Limits()
        self.shared, self.preload = shared, preload
        self.process: subprocess.Popen | None = None
        self.pid: int | None = None       # the zygote's own pid on this machine
        self.log = None
        self.took: dict = {}
        self.agent = False                # whether it loaded the judge's agent for its kernels (``spawn``'s agent)
        self.start_s = 0.0
        self.owner = os.getpid()          # the process that started it (worker processes forked later use it too)

    # -- starting and stopping ---------------------------------------------------------------------

    def command(self) -> list[str]:
        """bwrap's command line for the zygote: a kernel's sandbox, plus the capabilities to make one per child."""
        args = [sandbox.require_bwrap(), "--die-with-parent", "--new-session"]
        if sandbox.as_root():
            args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        else:
            args += ["--unshare-all"]
        for capability in CAPABILITIES:
            args += ["--cap-add", capability]
        args += ["--size", str(self.limits.disk_bytes), "--perms", "1777", "--tmpfs", sandbox.WORKDIR]
        readable = sandbox.readable_paths(self.hidden)
        args += sandbox._parent_dirs(readable)
        for path in readable:
            args += ["--ro-bind", path, path]
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--size", str(self.limits.shm_bytes), "--perms", "1777", "--tmpfs", "/dev/shm",
                 "--perms", "0755", "--dir", sandbox.CONNECTION_DIR,
                 "--size", str(1 << 20), "--perms", "0700", "--tmpfs", CONTROL_DIR,
                 "--ro-bind", str(HERE / "zygote.py"), SCRIPT]
        for part in judge_kernel.PARTS:
            args += ["--ro-bind", str(judge_kernel.HERE / part), f"{AGENT_DIR}/{part}"]
        if self.shared is not None:
            args += ["--bind", str(self.shared), SHARED]
        args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", sandbox.WORKDIR, "--hostname", "sandbox",
                 "--clearenv"]
        for name, value in sandbox.environment(sandbox.WORKDIR, self.limits).items():
            args += ["--setenv", name, value]
        args += ["--setenv", "NNLAB_ZYGOTE_PRELOAD", json.dumps(list(self.preload)),
                 "--setenv", "NNLAB_ZYGOTE_AGENT", json.dumps([f"{AGENT_DIR}/{part}" for part in judge_kernel.PARTS])]
        return args + ["--", sys.executable, "-I", SCRIPT]

    def start(self, timeout_s: float = 180) -> "Zygote":
        """Start the zygote and wait until it has imported everything (call from a thread that outlives it:
        bwrap's --die-with-parent follows the thread that started it)."""
        started = time.monotonic()
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ZygoteError(f"the warm-kernel zygote exited with status {self.process.returncode}: "
                                  f"{self.log_text()[-1500:]}")
            self.pid = self.pid or self._find_zygote()
            if self.pid:
                try:
                    ready = json.loads(Path(f"/proc/{self.pid}/root{CONTROL_DIR}/ready.json").read_text())
                    self.took, self.agent = ready["preload"], ready.get("agent") is True
                    break
                except (OSError, ValueError, KeyError):
                    pass
            time.sleep(0.05)
        else:
            self.stop()
            raise ZygoteError(f"the warm-kernel zygote did not become ready in {timeout_s:g} s")
        self.start_s = time.monotonic() - started
        return self

    def _find_zygote(self) -> int | None:
        for pid in sandbox.descendants(self.process.pid):
            try:
                if SCRIPT.encode() in Path(f"/proc/{pid}/cmdline").read_bytes() and \
                        Path(f"/proc/{pid}/comm").read_text().strip() != "bwrap":
                    return pid
            except OSError:
                continue
        return None

    def log_text(self) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def alive(self) -> bool:
        if self.process is None:
            return False
        if os.getpid() == self.owner:
            return self.process.poll() is None
        # a forked worker process cannot wait for its parent's child (Popen.poll would say it ended)
        return self.pid is not None and Path(f"/proc/{self.pid}").exists()

    def stop(self) -> None:
        if os.getpid() != self.owner:
            return  # only the process that started the zygote stops it
        if self.process is not None:
            sandbox.kill(sandbox.descendants(self.process.pid)[::-1] + [self.process.pid])
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self.log is not None:
            self.log.close()
            self.log = None

    def __enter__(self) -> "Zygote":
        return self.start() if self.process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- children ------------------------------------------------------------------------------------

    def spawn(self, connection_file: Path, log_fd: int, *, uid: int | None = None, limits: Limits | None = None,
              binds: list[tuple[str, str]] = (), env: dict | None = None, agent: dict | None = None) -> "WarmChild":
        """Fork one sandboxed kernel reading ``connection_file``; its output goes to ``log_fd``. ``agent``
        (``{"path", "token"}``, when the zygote loaded the judge's agent): the kernel's agent listens there
        before IPython starts."""
        if not self.alive():
            raise ZygoteError("the warm-kernel zygote is not running: " + self.log_text()[-800:])
        limits = limits or self.limits
        request = {"uid": uid, "limits": limits.as_dict(), "binds": [list(b) for b in binds],
                   "nproc": limits.processes if sandbox.as_root() else sandbox._my_tasks() + limits.processes,
                   "env": env or sandbox.environment(sandbox.WORKDIR, limits)}
        if agent:
            if not self.agent:
                raise ZygoteError("the warm-kernel zygote has not loaded the judge's agent")
            request["agent"] = {"path": str(agent["path"]), "token": str(agent["token"])}
        started = time.monotonic()
        control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        control.settimeout(30)
        connection_fd = os.open(connection_file, os.O_RDONLY)
        try:
            control.connect(f"/proc/{self.pid}/root{CONTROL_DIR}/control.sock")
            control.sendmsg([json.dumps(request).encode()],
                            [(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(memoryview(
                                __import__("array").array("i", [connection_fd, log_fd]))))])
            reply = _read_line(control, 30)
        except OSError as error:
            control.close()
            raise ZygoteError(f"the warm-kernel zygote did not answer: {error}") from error
        finally:
            os.close(connection_fd)
        if "pid" not in reply:
            control.close()
            raise ZygoteError(f"the warm-kernel zygote refused: {reply.get('error', reply)}")
        child = WarmChild(control, self._host_pid(reply["pid"]))
        child.fork_s = time.monotonic() - started
        return child

    def _host_pid(self, inner: int, seconds: float = 5) -> int:
        """This machine's pid of the zygote's child whose pid in the zygote's namespace is ``inner``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for pid in children_of(self.pid):
                if ns_pids(pid)[-1:] == [inner]:
                    return pid
            time.sleep(0.002)
        raise ZygoteError(f"the zygote's child {inner} is not to be found")


def _read_line(sock: socket.socket, seconds: float) -> dict:
    sock.settimeout(seconds)
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return json.loads(data.decode()) if data.strip() else {}


class WarmChild:
    """A kernel forked by the zygote, as ``subprocess.Popen`` would show it to jupyter_client."""

    stdin = stdout = stderr = None

    def __init__(self, control: socket.socket, pid: int):
        self.control, self.pid = control, pid
        self.returncode: int | None = None
        self._kernel: int | None = None
        self.fork_s = 0.0
        control.setblocking(False)
        self._buffer = b""

    @property
    def kernel_pid(self) -> int | None:
        """The kernel's pid on this machine (PID 2 of the child's namespace, below its init)."""
        if self._kernel is None:
            for init in children_of(self.pid):
                for pid in children_of(init):
                    if ns_pids(pid)[-1:] == [2]:
                        self._kernel = pid
        return self._kernel

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        try:
            chunk = self.control.recv(4096)
            if not chunk:  # the zygote has gone, and the child with it (--die-with-parent, PDEATHSIG)
                self.returncode = -signal.SIGKILL
                self.control.close()
                return self.returncode
            self._buffer += chunk
        except BlockingIOError:
            return None
        except OSError:
            self.returncode = -signal.SIGKILL
            return self.returncode
        if self._buffer.endswith(b"\n"):
            message = json.loads(self._buffer.decode().splitlines()[-1])
            if "exit" in message:
                status = int(message["exit"])
                self.returncode = status if status < 0 else (-(status - 128) if status > 128 else status)
                self.control.close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("warm kernel", timeout)
            time.sleep(0.01)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """The whole child: kernel, init and everything the student started (they die with PID 1 anyway)."""
        sandbox.kill(sandbox.descendants(self.pid)[::-1] + [self.pid])

    def terminate(self) -> None:
        self.kill()


class WarmProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, with the kernel forked by a ``Zygote`` instead of ``Popen``.

    Set ``zygote`` (and ``uid``, ``limits``, ``binds``) before the kernel starts; ``stdout`` of the launch
    keywords is the log pipe's write end (``stderr`` goes to the same place).
    """

    zygote: Zygote | None = None
    uid: int | None = None
    limits: Limits | None = None
    binds: tuple = ()
    agent: dict | None = None

    async def launch_kernel(self, cmd, **kwargs):
        km = self.parent
        log_fd = kwargs.get("stdout")
        own = None
        if not isinstance(log_fd, int):
            own = log_fd = os.open(os.devnull, os.O_WRONLY)
        try:
            self.process = self.zygote.spawn(Path(km.connection_file), log_fd, uid=self.uid, limits=self.limits,
                                             binds=list(self.binds), agent=self.agent)
        finally:
            if own is not None:
                os.close(own)
        self.pid, self.pgid = self.process.pid, None  # never a process group: the zygote's would be killed
        self.cwd = kwargs.get("cwd")
        return self.connection_info

    @property
    def kernel_pid(self) -> int | None:
        return self.process.kernel_pid if self.process is not None else None


def warm_manager(km, zygote: Zygote, *, uid: int | None, limits: Limits, binds=(),
                 agent: dict | None = None) -> WarmProvisioner:
    """Make kernel manager ``km`` fork its kernel from ``zygote`` (call before ``start_kernel``); ``agent``: where,
    and with which token, the judge's agent listens in it (``Zygote.spawn``)."""
    import uuid
    km.kernel_id = km.kernel_id or str(uuid.uuid4())
    provisioner = WarmProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
    provisioner.zygote, provisioner.uid, provisioner.limits, provisioner.binds = zygote, uid, limits, tuple(binds)
    provisioner.agent = agent
    km.provisioner = provisioner
    return provisioner


# -- the process's zygote -----------------------------------------------------------------------------

_zygotes: dict[tuple, "Zygote | None"] = {}  # hidden folders -> this process's zygote (None: it failed)
_zygotes_lock = threading.Lock()
ENV = "NNLAB_WARM"  # "0": every kernel starts cold


def enabled() -> bool:
    """Warm kernels unless ``NNLAB_WARM=0``, where bubblewrap is installed (the zygote is a sandbox)."""
    return os.environ.get(ENV, "1").strip() != "0" and sandbox.bwrap() is not None


def _key(hidden) -> tuple:
    return tuple(sorted({os.path.realpath(h) for h in hidden}))


def install(zygote: Zygote) -> None:
    """Make ``zygote`` (already started) the one ``shared`` returns for its hidden folders."""
    with _zygotes_lock:
        _zygotes[_key(zygote.hidden)] = zygote


def shared(hidden, limits: Limits | None = None, *, log=None) -> Zygote | None:
    """This process's zygote for kernels that must not see ``hidden``, started on first use; None: start cold.

    Started once per process (or inherited from the process that forked this one) on a thread of its
    own that lives as long as the process: bwrap's ``--die-with-parent`` follows the thread that
    started it, and a grading pool's threads come and go. One that cannot start is said once (on
    ``log``, else stderr) and not tried again: every kernel then starts cold, as before.
    """
    if not enabled():
        return None
    key = _key(hidden)
    with _zygotes_lock:
        if key in _zygotes and (_zygotes[key] is None or _zygotes[key].alive()):
            return _zygotes[key]
        zygote = Zygote([Path(h) for h in hidden], limits)
        try:
            _start_kept(zygote)
            import atexit
            atexit.register(zygote.stop)
        except Exception as error:  # noqa: BLE001: warm kernels are an optimisation, never a reason to stop
            zygote = None
            message = f"warm kernels are off for this run (kernels start cold): {error}"[:1500]
            log(message) if log else print(message, file=sys.stderr, flush=True)
        _zygotes[key] = zygote
        return zygote


def _start_kept(zygote: Zygote) -> None:
    """``zygote.start()`` on a daemon thread that then waits for ever (the zygote's parent thread)."""
    ready, failed = threading.Event(), []

    def keep():
        try:
            zygote.start()
        except BaseException as error:  # noqa: BLE001: handed to the caller
            failed.append(error)
            return
        finally:
            ready.set()
        threading.Event().wait()

    threading.Thread(target=keep, name="nnlab-zygote", daemon=True).start()
    ready.wait()
    if failed:
        raise failed[0]


def scratch_for(root: Path) -> Path:
    """A folder for one kernel's connection file (what ``sandbox.prepare_scratch`` makes for a cold one)."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return Path(tempfile.mkdtemp(dir=root))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
