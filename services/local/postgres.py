"""A PostgreSQL cluster of our own, from the installed server binaries, for `make run` and tests.

Used when nothing answers on the default address, and by fault tests that must kill -9
and restart the database without touching the machine's shared server. The postmaster
runs in a process group of its own, so `kill()` takes every backend down with it, as a
real crash would. PostgreSQL refuses to run as root: as root we run it as `postgres`.
"""

# ruff: noqa: S603 - running the installed server binaries with fixed arguments is the point

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse, urlunparse

import psycopg
from psycopg import sql

from services.local.supervisor import children

SERVICE_USER = "postgres"
READY_TIMEOUT = 60.0


def server_bindir() -> Path:
    """Where `initdb` and `postgres` live: pg_config's answer, else Debian's layout."""
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    raise FileNotFoundError("no PostgreSQL server binaries (initdb) found; install postgresql")


def _run_as() -> dict[str, Any]:
    """Popen arguments that drop root to the `postgres` user; nothing when we are not root."""
    if os.geteuid() != 0:
        return {}
    return {"user": SERVICE_USER, "group": SERVICE_USER, "extra_groups": []}


def _hand_over(path: Path) -> None:
    """Give `path` to the `postgres` user when we are root, so the server may use it."""
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVICE_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def init_cluster(data_dir: Path) -> None:
    """Create a trust-auth cluster in `data_dir` unless one is already there."""
    if (data_dir / "PG_VERSION").exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _hand_over(data_dir)
    done = subprocess.run(
        [str(server_bindir() / "initdb"), "-D", str(data_dir), "-U", "postgres",
         "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-instructions"],
        check=False,
        capture_output=True,
        text=True,
        cwd="/",
        **_run_as(),
    )
    if done.returncode != 0:
        hint = " (it runs as `postgres`: every parent folder needs o+x)" if _run_as() else ""
        raise RuntimeError(f"initdb {data_dir} failed{hint}: {done.stderr.strip()}")


def database_exists(admin_url: str, name: str) -> bool:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row is not None


def ensure_database(database_url: str) -> bool:
    """Create the database `database_url` names, if missing. True when it was created."""
    parsed = urlparse(database_url)
    name = parsed.path.lstrip("/")
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    if not name or database_exists(admin_url, name):
        return False
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def answers(url: str, timeout: float = 2.0) -> bool:
    """True when a PostgreSQL server at `url` accepts a connection and a query."""
    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


@dataclass
class LocalPostgres:
    """A cluster in `data_dir` served on 127.0.0.1:`port`; start/stop/kill/restart it."""

    data_dir: Path
    port: int
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = READY_TIMEOUT) -> None:
        """Start the postmaster (crash recovery runs if it was killed) and wait until ready."""
        if self.running:
            return
        init_cluster(self.data_dir)
        log = self._open_log()
        try:
            self.process = subprocess.Popen(
                [str(server_bindir() / "postgres"), "-D", str(self.data_dir),
                 "-p", str(self.port), "-h", "127.0.0.1", "-k", ""],  # TCP only, no socket file
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd="/",
                **_run_as(),
            )
        finally:
            if not isinstance(log, int):
                log.close()
        try:
            self._wait_ready(timeout)
        except BaseException:  # a timeout, or Ctrl-C while waiting: leave no orphan behind
            self.kill()
            raise

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT: roll back open transactions, checkpoint); SIGKILL if stuck."""
        if not self.running:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """kill -9 the postmaster and every backend at once: a crash, no checkpoint.

        Backends are process-group leaders of their own (PostgreSQL calls `setsid` in each
        child), so killing the postmaster's group leaves them to notice its death on
        their own, and a start before the last is gone fails ("pre-existing shared memory
        block is still in use"): each child is killed by pid, and waited for. The
        postmaster is stopped first, so no child is forked between the list and the kill."""
        if self.process is None or self.process.poll() is not None:
            return  # gone, and reaped: its pid may be someone else's now
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGSTOP)
        forked = children(self.process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for child in forked:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + KILL_WAIT_SECONDS
        while any(_alive(child) for child in forked) and time.monotonic() < deadline:
            time.sleep(0.01)

    def restart(self, timeout: float = READY_TIMEOUT) -> None:
        self.stop()
        self.start(timeout)

    def _open_log(self) -> IO[bytes] | int:
        if self.log_path is None:
            return subprocess.DEVNULL
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        return open(self.log_path, "ab")  # closed by start() once the child holds it

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not answers(self.url(), timeout=1.0):
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"postgres exited with {self.process.returncode}; see {self.log_path}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"postgres on port {self.port} not ready in {timeout} s")
            time.sleep(0.1)


KILL_WAIT_SECONDS = 10.0


def _alive(pid: int) -> bool:
    """Still a process, and not a zombie (a killed backend its dead parent left)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def base_backup(primary_port: int, data_dir: Path) -> None:
    """Copy the cluster on 127.0.0.1:`primary_port` into `data_dir` as a hot standby that
    streams from it (`pg_basebackup -R`: `standby.signal` and `primary_conninfo` written);
    start it with `LocalPostgres(data_dir, another_port)`. The primary must allow
    replication connections, as initdb's trust cluster does from 127.0.0.1."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _hand_over(data_dir)
    done = subprocess.run(
        [str(server_bindir() / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port),
         "-U", "postgres", "-D", str(data_dir), "-R", "-X", "stream", "-c", "fast"],
        check=False, capture_output=True, text=True, cwd="/", **_run_as(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"pg_basebackup into {data_dir} failed: {done.stderr.strip()}")


def start_cluster(data_dir: Path, port: int, log_path: Path | None = None) -> LocalPostgres:
    """Initialise (once) and start a cluster; the caller stops it with `.stop()`."""
    cluster = LocalPostgres(data_dir, port, log_path)
    cluster.start()
    return cluster
