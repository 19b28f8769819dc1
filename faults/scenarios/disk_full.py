"""(10) PostgreSQL's disk full under load: every write that needs a new page fails
(`could not extend file ...: No space left on device`, SQLSTATE 53100) while reads and
the server go on. Commands must wait, not be refused: a batch whose commit failed is
redelivered and applied once the space is back; e-mails whose claims or outcomes could
not be written are sent once, later.

The scenario's own cluster lives on a tmpfs it mounts (so it needs root, as `make
faults` has here); after the load has run a while, a ballast file fills what is left of
it, for `FULL_S` seconds, and is then deleted. Checks: the database reported the disk
full (in its log), and neither service had to be restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.common import faults_over, note_survivors, say, under_load, with_system
from faults.system import System
from faults.traffic import Traffic

RATE = 40.0
FULL_S = 15.0
TMPFS_SIZE = "1500M"
"""Room for the cluster and this run's writes (~300 MB), the rest filled by the ballast."""
DISK_FULL = "No space left on device"
MOUNT = shutil.which("mount") or "/bin/mount"
UMOUNT = shutil.which("umount") or "/bin/umount"


def fill(ballast: Path) -> int:
    """Write zeros to `ballast` until the file system is full; the bytes written."""
    chunk = b"\0" * (1 << 20)
    written = 0
    with ballast.open("wb", buffering=0) as out:
        while True:
            try:
                written += out.write(chunk)
            except OSError:
                break
    return written


def disk_full_errors(log: Path) -> int:
    """Lines of the cluster's log that report the disk full."""
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text(errors="replace").splitlines() if DISK_FULL in line)


async def body(system: System, traffic: Traffic, figures: Figures, mount: Path) -> None:
    assert system.database.cluster is not None
    ballast = mount / "ballast"
    moments: list[float] = []
    async with under_load(traffic, RATE, seconds=120):
        try:
            await asyncio.sleep(6.0)
            written = await asyncio.to_thread(fill, ballast)
            say(figures.scenario, f"disk full (ballast {written >> 20} MiB)")
            await asyncio.sleep(FULL_S)
        finally:
            ballast.unlink(missing_ok=True)
        moments.append(time.time())
        say(figures.scenario, f"space back after {FULL_S:.0f} s "
                              f"({len(traffic.sent)} commands sent)")
        await asyncio.sleep(12.0)
    await faults_over(traffic, moments, figures)
    errors = disk_full_errors(system.log_dir / "postgres.log")
    figures.details["disk_full_errors_logged"] = errors
    figures.checks["the database reported its disk full"] = errors > 0
    note_survivors(system, figures)


def run(var: Path) -> Figures:
    figures = Figures("postgres-disk-full", "PostgreSQL's disk full for 15 s under load")
    mount = Path(tempfile.mkdtemp(prefix="faults-disk-"))
    try:
        subprocess.run([MOUNT, "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0711", "tmpfs",  # noqa: S603 - fixed arguments
                        str(mount)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as error:
        figures.error = f"could not mount a tmpfs for the cluster (needs root): {error}"
        mount.rmdir()
        return figures
    try:
        return with_system(figures, var, lambda s, t, f: body(s, t, f, mount),
                           own_cluster=True, cluster_dir=mount / "data")
    finally:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            subprocess.run([UMOUNT, "-l", str(mount)], check=True,  # noqa: S603 - fixed arguments
                           capture_output=True)
            mount.rmdir()


SCENARIOS = [Scenario("postgres-disk-full",
                      "PostgreSQL's disk full for 15 s under load; commands wait, none refused",
                      run, 90)]
