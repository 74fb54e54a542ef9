"""Real servers for the scale tests and benchmarks: a throwaway PostgreSQL cluster and a redis-server.

    with PostgresServer.start(folder) as pg:        # initdb + postgres on 127.0.0.1:<free port>
        url = pg.create_database("course")         # postgresql+psycopg://grader:<password>@127.0.0.1:<port>/course
    with RedisServer.start(folder) as redis:
        broker = redis.url                         # redis://:<password>@127.0.0.1:<port>/0

Both listen on 127.0.0.1 only, on a port the kernel chose free, with a random password, keep every
file in ``folder``, and are stopped (and their files removed) when the ``with`` block ends. The
PostgreSQL cluster is made by ``initdb`` as an unprivileged user: postgres refuses to run as root, so
under root (CI) the cluster belongs to Debian's ``postgres`` user. ``missing()`` names the Debian
package to install when a server program is absent (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

POSTGRES_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)  # Debian's layout


def _postgres_tool(name: str) -> str | None:
    for folder in POSTGRES_BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    return shutil.which(name)


def missing() -> dict[str, str]:
    """Server programs that are not installed: program -> the Debian package that has it."""
    wanted = {"initdb": "postgresql", "postgres": "postgresql", "pg_ctl": "postgresql", "redis-server": "redis-server"}
    found = {"initdb": _postgres_tool("initdb"), "postgres": _postgres_tool("postgres"),
             "pg_ctl": _postgres_tool("pg_ctl"), "redis-server": shutil.which("redis-server")}
    return {program: wanted[program] for program, path in found.items() if path is None}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, seconds: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds:g} s")


def _as_user(user: str | None) -> list[str]:
    """The prefix that runs a command as ``user`` (None: as we are)."""
    if user is None:
        return []
    return [shutil.which("setpriv") or "setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"]


@dataclass
class PostgresServer:
    folder: Path
    port: int
    password: str
    user: str | None                      # the unprivileged owner of the cluster (None: ourselves)
    role: str = "grader"
    process: subprocess.Popen | None = None
    log: Path = field(default=None)

    @classmethod
    def start(cls, parent: Path | None = None, *, max_connections: int = 200) -> "PostgresServer":
        """A new cluster in a folder under ``parent`` (default: the temporary folder), which the cluster's
        owner must be able to traverse (as root: the ``postgres`` user)."""
        owner = "postgres" if os.geteuid() == 0 else None
        folder = Path(tempfile.mkdtemp(prefix="nnlab-pg-", dir=parent))
        server = cls(folder=folder, port=free_port(), password=secrets.token_hex(16), user=owner,
                     log=folder / "postgres.log")
        data, pwfile = folder / "data", folder / "password"
        pwfile.write_text(server.password + "\n")
        if owner is not None:
            entry = pwd.getpwnam(owner)
            os.chmod(folder, 0o755)
            for path in (folder, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        init = subprocess.run(_as_user(owner) + [_postgres_tool("initdb"), "-D", str(data), "-U", server.role,
                                                 f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8",
                                                 "--locale=C.UTF-8", "--no-sync"],
                              capture_output=True, text=True)
        if init.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"initdb failed:\n{init.stdout[-2000:]}\n{init.stderr[-2000:]}")
        pwfile.unlink()
        options = {"listen_addresses": "127.0.0.1", "port": str(server.port), "unix_socket_directories": "",
                   "max_connections": str(max_connections), "fsync": "off", "synchronous_commit": "off",
                   "full_page_writes": "off", "shared_buffers": "64MB"}
        argv = [_postgres_tool("postgres"), "-D", str(data)] + [a for k, v in options.items() for a in ("-c", f"{k}={v}")]
        log = open(server.log, "w")
        if owner is not None:
            entry = pwd.getpwnam(owner)
            os.chown(server.log, entry.pw_uid, entry.pw_gid)
        server.process = subprocess.Popen(_as_user(owner) + argv, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        log.close()
        try:
            wait_for_port(server.port, 30, server.process)
            server._wait_ready()
        except Exception:
            server.stop()
            raise
        return server

    def _wait_ready(self, seconds: float = 30) -> None:
        """Accepting TCP is not accepting logins (the startup phase): wait for a real query."""
        import psycopg
        deadline = time.monotonic() + seconds
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2) as connection:
                    connection.execute("select 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.role} password={self.password} dbname={database}"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` (psycopg 3 driver)."""
        return f"postgresql+psycopg://{self.role}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database, empty or a copy of ``template`` (a database nobody is connected to); its URL."""
        import psycopg
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as connection:
            connection.execute(f'create database "{name}"' + (f' template "{template}"' if template else ""))
        return self.url(name)

    def pause(self) -> None:
        """Stop accepting connections for a while (SIGSTOP): a database that does not answer."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # postgres' "fast shutdown"
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "PostgresServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class RedisServer:
    folder: Path
    port: int
    password: str
    process: subprocess.Popen | None = None

    @classmethod
    def start(cls, parent: Path | None = None, port: int | None = None) -> "RedisServer":
        folder = Path(tempfile.mkdtemp(prefix="nnlab-redis-", dir=parent))
        server = cls(folder=folder, port=port or free_port(), password=secrets.token_hex(16))
        server._launch()
        return server

    def _launch(self) -> None:
        config = self.folder / "redis.conf"
        config.write_text("\n".join([
            "bind 127.0.0.1", f"port {self.port}", "protected-mode yes", f"requirepass {self.password}",
            f"dir {self.folder}", 'save ""', "appendonly no", "daemonize no", "loglevel warning",
            f"logfile {self.folder / 'redis.log'}"]) + "\n")
        os.chmod(config, 0o600)
        self.process = subprocess.Popen([shutil.which("redis-server"), str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for_port(self.port, 20, self.process)
        except Exception:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        """The broker goes down (its queue with it: no persistence)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self) -> None:
        """The broker comes back on the same port (empty)."""
        self.kill()
        self._launch()

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "RedisServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def require(*programs: str) -> None:
    """Skip the calling test when a server program is missing (fail instead when CI is set), naming the package."""
    import pytest
    absent = {p: pkg for p, pkg in missing().items() if not programs or p in programs}
    if not absent:
        return
    message = ("not installed: " + ", ".join(sorted(absent)) + " (apt-get install "
               + " ".join(sorted(set(absent.values()))) + "); .ci/run installs them")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
