"""The warm-kernel zygote: one pre-imported Python inside the grading sandbox that forks a fresh kernel per submission.

This file runs *inside* a bubblewrap sandbox (``warm.Zygote`` starts it as ``python -I /run/nnlab-zygote.py``),
as a script: it never imports ``autograder`` (the sandbox shows no repository) and never runs
student code itself. It imports what every lesson's kernel imports (numpy, torch, matplotlib,
ipykernel, nnlab: interpreter start-up and ``import torch`` are most of a cold kernel's start), then
serves one request per connection on its control socket ``/run/nnlab-zygote/control.sock``:

    request  = one JSON line {"uid", "limits", "env", "binds"} + file descriptors (SCM_RIGHTS):
               [the kernel's connection file, opened read-only by the grader; the log pipe's write end]
    replies  = {"pid": <the child's pid in the zygote's namespace>}, later {"exit": <status>}

The zygote never reads the connection file (its HMAC key never enters the zygote's memory, so no
later child can find it there), and keeps nothing of a request after the fork. Each request forks:

    child (session leader)   unshare(mount, PID, network, IPC, UTS); every mount made private;
                             fresh tmpfs on /tmp, /dev/shm and /run/nnlab (sizes from the limits);
                             the requested bind mounts; the zygote's control folder and shared
                             folder unmounted; the connection file copied in; then forks
      init (PID 1)           mounts a /proc of the new PID namespace, forks the kernel, reaps
                             orphans, exits with the kernel's status (and the whole namespace dies)
        kernel (PID 2)       resource limits; capabilities dropped (bounding set, then all);
                             the slot's unprivileged user (when the zygote runs as root);
                             no_new_privs; the sandbox's environment; ipykernel on the connection file

So a child starts with the zygote's pristine memory (modules imported, nothing run), its own empty
writable folders, its own processes, network and hostname: nothing of an earlier student's kernel
(files, environment, module state, threads, processes) exists in it. The fork costs milliseconds.
Exit statuses follow bwrap's convention (``outcomes.exit_stop``): a signal n is 128 + n.
"""

import array
import ctypes
import gc
import json
import os
import selectors
import signal
import socket
import sys
import time

CONTROL_DIR = "/run/nnlab-zygote"
CONTROL = CONTROL_DIR + "/control.sock"
SHARED = "/run/nnlab-shared"            # the grader's folder for bind mounts (optional), unmounted in each child
CONNECTION_DIR = "/run/nnlab"           # as in autograder/sandbox.py
CONNECTION_FILE = CONNECTION_DIR + "/kernel.json"
WORKDIR = "/tmp"
AGENT_MODULE = "_nnlab_judge_agent"      # as in autograder/judge/kernel.py (MODULE, FILENAME)
AGENT_FILENAME = "<nnlab judge agent>"

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NAME, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 15, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def _mount(source, target, kind, flags, data=None) -> None:
    enc = (lambda v: v.encode() if isinstance(v, str) else v)
    _check(_libc.mount(enc(source), enc(target), enc(kind), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def _prctl(option: int, arg: int = 0) -> int:
    return _libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))


def _set_name(name: bytes) -> None:
    """The process's name in /proc/<pid>/comm (what ps shows), so the grader tells init from kernel."""
    _libc.prctl(PR_SET_NAME, ctypes.c_char_p(name), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_bounding_set() -> None:
    """No capability can ever come back (execve of a setuid file): needs CAP_SETPCAP, so before the user changes."""
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last + 1):
        _check(_prctl(PR_CAPBSET_DROP, cap), f"dropping capability {cap} from the bounding set")
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)


def drop_capabilities() -> None:
    """Every capability gone: the bounding set first, then the effective, permitted and inheritable sets."""
    if int(open("/proc/self/status").read().split("CapBnd:")[1].split()[0], 16):
        drop_bounding_set()
    header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def exit_code(status: int) -> int:
    """A wait status as bwrap reports one: the exit status, or 128 + the signal."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1


def load_agent(parts: list[str]) -> bool:
    """The judge's agent as a module (its parts joined and compiled as ``autograder.judge.kernel.kernel_source``
    does), for each child to open its socket before IPython starts (``kernel``); False when it could not
    load (every kernel is then sent the agent's text, as a cold one is)."""
    import types
    try:
        text = "\n\n".join(open(part, encoding="utf-8").read() for part in parts)
        module = types.ModuleType(AGENT_MODULE)
        exec(compile(text, AGENT_FILENAME, "exec"), module.__dict__)
    except Exception:  # noqa: BLE001: the kernels are sent the agent instead
        return False
    sys.modules[AGENT_MODULE] = module
    return True


def preload(modules: list[str]) -> dict:
    """Import what every kernel will: what each cost, and what failed (a kernel then imports it itself)."""
    took = {}
    for name in modules:
        started = time.perf_counter()
        try:
            __import__(name)
        except Exception as error:  # noqa: BLE001: a module this course's kernels do not need here
            took[name] = f"failed: {type(error).__name__}: {error}"[:200]
            continue
        took[name] = round(time.perf_counter() - started, 3)
    return took


# -- in the child ---------------------------------------------------------------------------------------


def child(request: dict, connection_fd: int, log_fd: int) -> None:
    """Between the fork and the kernel: new namespaces and mounts, then the init process. Never returns."""
    try:
        signal.set_wakeup_fd(-1)  # the zygote's SIGCHLD plumbing is not the child's
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the zygote gone (its grader gone), the child goes too
        os.setsid()
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        connection = os.read(connection_fd, 1 << 16)
        os.closerange(3, 1 << 16)  # the zygote's listener, other requests' sockets, the fds just read
        limits = request["limits"]
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        for target, size in ((WORKDIR, limits["disk_bytes"]), ("/dev/shm", limits["shm_bytes"]),
                             (CONNECTION_DIR, 1 << 20)):
            _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(size)},mode=1777")
        for source, target in request.get("binds", []):
            path = os.path.realpath(os.path.join(SHARED, source))
            if not path.startswith(SHARED + "/"):
                raise ValueError(f"a bind mount from outside {SHARED}: {source!r}")
            os.makedirs(target, exist_ok=True)
            _mount(path, target, None, MS_BIND | MS_REC)
        for folder in (CONTROL_DIR, SHARED):
            if os.path.ismount(folder):
                _check(_libc.umount2(folder.encode(), MNT_DETACH), f"umount {folder}")
        socket.sethostname("sandbox")
        with open(CONNECTION_FILE, "wb") as file:
            file.write(connection)
        os.chmod(CONNECTION_FILE, 0o644)
        init_pid = os.fork()
        if init_pid == 0:
            init(request)
        _, status = os.waitpid(init_pid, 0)
        os._exit(exit_code(status))
    except BaseException as error:  # noqa: BLE001: said on the log pipe, then the exit status says it
        os.write(2, f"nnlab zygote: the sandbox could not be made: {type(error).__name__}: {error}\n".encode())
        os._exit(71)


def init(request: dict) -> None:
    """PID 1 of the kernel's namespace: a /proc of its own, the kernel, then reap until the kernel is gone."""
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        _set_name(b"nnlab-init")
        kernel_pid = os.fork()
        if kernel_pid == 0:
            kernel(request)
        drop_capabilities()
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        while True:
            pid, status = os.wait()
            if pid == kernel_pid:
                os._exit(exit_code(status))
    except BaseException as error:  # noqa: BLE001
        os.write(2, f"nnlab zygote: init failed: {type(error).__name__}: {error}\n".encode())
        os._exit(71)


def kernel(request: dict) -> None:
    """The student's kernel: bounded, unprivileged, in the sandbox's environment; ipykernel from here on."""
    import resource
    try:
        _set_name(b"ipykernel")
        limits, uid = request["limits"], request.get("uid")
        for name, soft, hard in (("RLIMIT_AS", limits["memory_bytes"], limits["memory_bytes"]),
                                 ("RLIMIT_CPU", limits["cpu_s"], limits["cpu_s"] + 5),
                                 ("RLIMIT_NPROC", request["nproc"], request["nproc"]),
                                 ("RLIMIT_FSIZE", limits["file_bytes"], limits["file_bytes"]),
                                 ("RLIMIT_CORE", 0, 0)):
            resource.setrlimit(getattr(resource, name), (int(soft), int(hard)))
        drop_bounding_set()
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        drop_capabilities()
        _check(_prctl(PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after the user changed: a change of user clears it
        os.umask(0o022)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(WORKDIR)
        sys.argv = ["ipykernel_launcher", "-f", CONNECTION_FILE]
        sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != "/run"]
        for name in [m for m in sys.modules if m == "__nnlab_zygote__"]:
            del sys.modules[name]
        agent = request.get("agent")
        if agent:  # the judge's agent listens before IPython starts, so before any student code runs
            sys.modules[AGENT_MODULE].listen(str(agent["path"]), str(agent["token"]))
    except BaseException as error:  # noqa: BLE001
        os.write(2, f"nnlab zygote: the kernel could not be bounded: {type(error).__name__}: {error}\n".encode())
        os._exit(71)
    from ipykernel import kernelapp
    try:
        kernelapp.launch_new_instance(argv=["-f", CONNECTION_FILE])
    finally:
        os._exit(0)


# -- the zygote -----------------------------------------------------------------------------------------


def serve(listener: socket.socket) -> None:
    """Fork a child per request; tell each requester its child's exit status. Single-threaded: fork is safe."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(wake_r, selectors.EVENT_READ, "reap")
    children: dict[int, socket.socket] = {}
    while True:
        for key, _ in selector.select():
            if key.data == "accept":
                connection, _ = listener.accept()
                try:
                    pid = spawn(connection)
                except Exception as error:  # noqa: BLE001: a bad request fails alone
                    _reply(connection, {"error": f"{type(error).__name__}: {error}"[:500]})
                    connection.close()
                    continue
                children[pid] = connection
                _reply(connection, {"pid": pid})
            else:
                os.read(wake_r, 4096)
                while True:
                    try:
                        pid, status = os.waitpid(-1, os.WNOHANG)
                    except ChildProcessError:
                        break
                    if pid == 0:
                        break
                    connection = children.pop(pid, None)
                    if connection is not None:
                        _reply(connection, {"exit": (-os.WTERMSIG(status)) if os.WIFSIGNALED(status)
                                            else os.WEXITSTATUS(status)})
                        connection.close()


def spawn(connection: socket.socket) -> int:
    connection.settimeout(10)
    fds = array.array("i")
    message, ancillary, _, _ = connection.recvmsg(1 << 16, socket.CMSG_LEN(2 * fds.itemsize))
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
    if len(fds) != 2:
        for fd in fds:
            os.close(fd)
        raise ValueError("a request carries two file descriptors: the connection file and the log pipe")
    request = json.loads(message.decode())
    try:
        pid = os.fork()
        if pid == 0:
            child(request, fds[0], fds[1])
    finally:
        for fd in fds:
            os.close(fd)
    del request, message
    return pid


def _reply(connection: socket.socket, message: dict) -> None:
    try:
        connection.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass  # the grader has gone: it kills the child's tree itself


def main() -> None:
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != "/run"]
    sys.modules["__nnlab_zygote__"] = sys.modules[__name__]
    # what to import comes in the environment, not on the command line: every kernel's
    # /proc/<pid>/cmdline is the zygote's, and must not look like an ipykernel command to the grader
    modules = json.loads(os.environ.pop("NNLAB_ZYGOTE_PRELOAD", "[]"))
    agent_parts = json.loads(os.environ.pop("NNLAB_ZYGOTE_AGENT", "[]"))
    os.makedirs(CONTROL_DIR, exist_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(CONTROL)
    os.chmod(CONTROL, 0o600)
    took = preload(modules)
    agent = bool(agent_parts) and load_agent(agent_parts)
    # what was imported stays shared with every kernel: frozen, its objects are never walked (and so never
    # copied, page by page) by a kernel's garbage collections; 0.1 s of CPU less per kernel on lesson 02
    gc.collect()
    gc.freeze()
    listener.listen(64)
    with open(CONTROL_DIR + "/ready.json", "w") as file:
        json.dump({"preload": took, "agent": agent, "pid": os.getpid()}, file)
    serve(listener)


if __name__ == "__main__":
    main()
