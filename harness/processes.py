"""The processes a run starts and breaks: each service as a killable console script, the
Tansu broker (pause, kill, start again on the same port), and what /proc says about them."""

from __future__ import annotations

import contextlib
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from services.local.tansu import free_port, spawn_tansu, wait_for_port

BIN = Path(sys.executable).parent
"""Where this environment's console scripts are (`access-service`, `charger-access-run`)."""


def _request(url: str, token: str | None) -> urllib.request.Request:
    request = urllib.request.Request(url)  # noqa: S310 - our own loopback URL
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    return request


def http_ok(url: str, token: str | None = None, timeout: float = 1.0,
            tls: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(_request(url, token), timeout=timeout,  # noqa: S310
                                    context=tls) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def http_text(url: str, token: str | None = None, timeout: float = 2.0) -> str:
    """The body at `url`; "" when nothing answers."""
    try:
        with urllib.request.urlopen(_request(url, token), timeout=timeout) as response:  # noqa: S310
            return bytes(response.read()).decode()
    except OSError:
        return ""


def metrics(text: str) -> dict[str, float]:
    """A Prometheus text page as {series: value}."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                out[name] = float(value)
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def environ(pid: int) -> list[str]:
    """A process's environment as `NAME=value` strings (empty when it is gone)."""
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> int:
    """SIGTERM, wait `timeout`, then SIGKILL its whole process group. The exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    return process.wait(10)


@dataclass
class ServiceProcess:
    """One console script (`access-service`, `notifications-service`) as a killable child."""

    name: str
    env: dict[str, str]
    log: Path
    ready_url: str
    ready_tls: ssl.SSLContext | None = None
    """The client context of an `https://` ready URL (one verifying the service's CA)."""
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    exit_codes: list[int] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def spawn(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n=== start #{self.starts + 1} at {time.strftime('%X')} ===\n".encode())
            self.process = subprocess.Popen(  # noqa: S603 - our own console script
                [str(BIN / self.name)], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        self.starts += 1

    def wait_ready(self, timeout: float = 90.0) -> float:
        """Block until the ready URL answers 200; returns the seconds it took."""
        started = time.monotonic()
        while not http_ok(self.ready_url, tls=self.ready_tls):
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{self.name} not ready in {timeout:.0f} s: {self.tail()}")
            time.sleep(0.1)
        return time.monotonic() - started

    def start(self, timeout: float = 90.0) -> float:
        self.spawn()
        return self.wait_ready(timeout)

    def kill(self) -> None:
        """kill -9 the service (its whole process group)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.exit_codes.append(self.process.wait(10))

    def pause(self) -> None:
        """SIGSTOP the service's process group: frozen as it is, sockets and all."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGCONT)

    def terminate(self, timeout: float = 55.0) -> float:
        """SIGTERM and wait for the graceful drain; SIGKILL after `timeout`. Seconds taken."""
        if not self.alive:
            return 0.0
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.exit_codes.append(self.process.wait(timeout))
        except subprocess.TimeoutExpired:
            self.kill()
            self.exit_codes.append(-9)
        return time.monotonic() - started

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class Broker:
    """A Tansu broker (memory storage) on a fixed port: pause, resume, kill, start again."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = spawn_tansu(self.port, self.log)
        try:
            wait_for_port("127.0.0.1", self.port)
        except BaseException:
            self.kill()
            raise

    def pause(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGCONT)
                self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGCONT)  # a paused broker cannot hear SIGTERM
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()
