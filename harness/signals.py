"""SIGTERM for the long-running tools (`bench`, `faults`): stop like Ctrl-C does.

Python's default for SIGTERM ends the process at once, skipping every `finally`: a
killed runner then left its whole system (services, broker, database) running. As a
KeyboardInterrupt it unwinds through the `finally` that stops them. A runner that re-runs
itself in a child (`faults --snapshot`) passes the signal on and waits for the child to
unwind too.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

CHILD_UNWIND_SECONDS = 120.0
"""How long a passed-on SIGTERM waits for the child to stop what it started."""


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def sigterm_unwinds() -> None:
    """From now on SIGTERM raises KeyboardInterrupt in the main thread."""
    signal.signal(signal.SIGTERM, _interrupt)


def run_passing_sigterm(argv: Sequence[str], *, cwd: Path, env: dict[str, str],
                        unwind: float = CHILD_UNWIND_SECONDS) -> int:
    """Run `argv` to its end and return its exit code; a SIGTERM (or Ctrl-C) meanwhile is
    passed on to it, waited for (`unwind` at most, then it is killed) and raised here."""
    sigterm_unwinds()
    child = subprocess.Popen(argv, cwd=cwd, env=env)  # noqa: S603 - our own argv
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(unwind)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        raise
