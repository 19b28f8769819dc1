"""A SIGTERM to a runner (`faults`, `faults --snapshot`'s parent, `bench`) stops what it
started: the signal unwinds its `finally` and is passed on to a re-run child. Before,
Python's default ended the runner at once and its services ran on for an hour."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent("""
    import subprocess, sys, time
    from pathlib import Path
    from harness.signals import sigterm_unwinds

    sigterm_unwinds()
    here = Path(sys.argv[1])
    service = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    (here / "service.pid").write_text(str(service.pid))
    try:
        time.sleep(300)
    finally:
        service.terminate()
        service.wait()
        (here / "stopped").write_text("yes")
""")

PARENT = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from harness.signals import run_passing_sigterm

    here = Path(sys.argv[1])
    sys.exit(run_passing_sigterm([sys.executable, str(here / "child.py"), str(here)],
                                 cwd=here, env=dict(os.environ)))
""")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie awaiting its parent's wait counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def wait_for(path: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return True
        time.sleep(0.05)
    return False


def test_a_sigterm_to_the_runner_stops_the_child_and_what_it_started(tmp_path: Path) -> None:
    (tmp_path / "child.py").write_text(CHILD)
    (tmp_path / "parent.py").write_text(PARENT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runner = subprocess.Popen([sys.executable, str(tmp_path / "parent.py"), str(tmp_path)],
                              env=env)
    try:
        assert wait_for(tmp_path / "service.pid", 30), "the child never started its service"
        service = int((tmp_path / "service.pid").read_text())

        runner.send_signal(signal.SIGTERM)
        code = runner.wait(30)

        assert wait_for(tmp_path / "stopped", 5), "the child's finally never ran"
        assert not alive(service)
        assert code != 0  # interrupted, not a success
    finally:
        runner.kill()
