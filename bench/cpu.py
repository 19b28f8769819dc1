"""CPU spent per command, by part of the system, read from `/proc` around a repetition.

P1 compares our pipeline with a peer that does less beside its commands (no relay,
projection, local lists or e-mail). What each side costs the machine per command says how
far two cores can carry either, independently of how the two took turns: the figure that
shows whether "3x the peer" is a question of waiting or of CPU.

Every process on the machine is counted under the part its command line names; what no
part names (other tenants of a shared machine) is `other`, so the parts add up to what
`/proc/stat` says the machine did.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.stats import median

PARTS: tuple[tuple[str, str], ...] = (
    ("access-service", "access-service"),
    ("notifications-service", "notifications-service"),
    ("ocpp-gateway", "ocpp-gateway"),
    ("bench.peer_service", "peer"),
    ("tansu", "tansu"),
    ("postgres: ", "postgres"),  # a backend's or helper's process title
    ("bin/postgres", "postgres"),  # the postmaster (not "postgresql://" in an argument)
    ("charger-access-run", "supervisor"),
    ("spawn_main", "smtp sink"),  # the harness's sink runs in a spawned process
)
"""(what the command line contains, the part it counts under), first match wins; the
bench's own process (the load generator) is `bench` by its pid."""

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Snapshot:
    ticks: Mapping[int, tuple[str, int]]
    """pid → (part, user + system ticks so far)"""
    machine_busy: int
    """The machine's busy ticks so far (all cores; idle and iowait excluded)."""


def part_of(command: str, pid: int, own_pid: int) -> str:
    if pid == own_pid:
        return "bench"
    for needle, part in PARTS:
        if needle in command:
            return part
    return "other"


def _read_side(entry: Path) -> bool:
    """The access service's read side (`ACCESS_ROLE=queries`, as `make run` starts one):
    the same command line as its command side, told apart by its environment."""
    try:
        return b"\0ACCESS_ROLE=queries\0" in b"\0" + (entry / "environ").read_bytes()
    except OSError:
        return False


def take(proc: Path = Path("/proc"), own_pid: int | None = None) -> Snapshot:
    own = os.getpid() if own_pid is None else own_pid
    ticks: dict[int, tuple[str, int]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                "utf-8", "replace")
        except OSError:
            continue  # gone meanwhile
        fields = stat.rsplit(")", 1)[1].split()
        pid = int(entry.name)
        part = part_of(command, pid, own)
        if part == "access-service" and _read_side(entry):
            part = "access-queries"
        ticks[pid] = (part, int(fields[11]) + int(fields[12]))
    cpu = (proc / "stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in cpu]
    return Snapshot(ticks, sum(values) - values[3] - values[4])


def per_command(before: Snapshot, after: Snapshot, commands: int) -> dict[str, float]:
    """Milliseconds of CPU per command by part, and `machine` (all of it, from
    `/proc/stat`). A process that started meanwhile counts from zero; one that ended
    meanwhile is lost (the parts then add up to less than the machine)."""
    if commands <= 0:
        return {}
    spent: dict[str, int] = {}
    for pid, (part, ticks) in after.ticks.items():
        earlier = before.ticks.get(pid)
        used = ticks - earlier[1] if earlier is not None and earlier[0] == part else ticks
        if used > 0:
            spent[part] = spent.get(part, 0) + used
    spent["machine"] = after.machine_busy - before.machine_busy
    scale = 1000 / TICKS_PER_SECOND / commands
    return {part: round(ticks * scale, 3) for part, ticks in sorted(spent.items())}


def medians(runs: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Each part's median over the repetitions (a part missing from one counts as 0)."""
    runs = list(runs)
    parts = sorted({part for run in runs for part in run})
    return {part: round(median([run.get(part, 0.0) for run in runs]), 3) for part in parts}
