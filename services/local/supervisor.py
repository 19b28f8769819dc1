"""Child processes in the foreground: logs prefixed by name, stopped together, in order.

`make run` starts infrastructure first and services last; stopping goes the other way,
so a service never outlives the broker or database it talks to. Each child runs in a
session of its own: Ctrl-C reaches only us, and we stop the children one by one (SIGTERM,
then SIGKILL after a timeout) instead of every process receiving SIGINT at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

STOP_TIMEOUT = 10.0

_print_lock = threading.Lock()


def children(pid: int) -> list[int]:
    """The processes `pid` forked (its main thread's, from /proc; empty once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def say(name: str, line: str) -> None:
    """One terminal line, prefixed; lines from different children never interleave."""
    with _print_lock:
        sys.stdout.write(f"{name:>14} | {line.rstrip()}\n")
        sys.stdout.flush()


@dataclass
class Child:
    """A process we own: how to stop it, and whether it may exit on its own."""

    name: str
    process: subprocess.Popen[bytes]
    stop_signal: signal.Signals = signal.SIGTERM
    on_stop: Callable[[], None] | None = None

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask politely, wait, then SIGKILL the child's whole process group."""
        if self.on_stop is not None:
            self.on_stop()
            return
        if not self.alive:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            say(self.name, f"did not stop within {timeout:.0f} s: SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _pump(name: str, stream: IO[bytes]) -> None:
    for raw in iter(stream.readline, b""):
        say(name, raw.decode(errors="replace"))
    stream.close()


class StopRequested(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM, wherever startup or watching is."""


def _raise_stop(signum: int, _frame: object) -> None:
    raise StopRequested(signal.Signals(signum).name)


@dataclass
class Supervisor:
    """Starts children, watches them, and stops all of them on request or on a death."""

    children: list[Child] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        """Start `argv` with its output prefixed by `name` on our terminal."""
        process = subprocess.Popen(  # noqa: S603 - our own console scripts
            argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert process.stdout is not None
        threading.Thread(target=_pump, args=(name, process.stdout), daemon=True).start()
        return self.adopt(Child(name, process))

    def adopt(self, child: Child) -> Child:
        """Take charge of a process started elsewhere (broker, database)."""
        self.children.append(child)
        return child

    @staticmethod
    def handle_signals() -> None:
        """SIGINT and SIGTERM raise `StopRequested`, so `finally: stop_all()` always runs."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _raise_stop)

    def first_death(self, interval: float = 0.2) -> Child:
        """Block until a child exits on its own, and return it."""
        while True:
            for child in self.children:
                if not child.alive:
                    return child
            time.sleep(interval)

    @staticmethod
    def ignore_signals() -> None:
        """While stopping, a second Ctrl-C must not cut the orderly shutdown short."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)

    def stop_all(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every child, newest first."""
        for child in reversed(self.children):
            if child.alive:
                say("run", f"stopping {child.name}")
            child.stop(timeout)
        self.children.clear()
