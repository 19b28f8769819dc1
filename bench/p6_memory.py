"""P6: peak RSS of each service in every phase that ran before it (sampled VmRSS, 5 times
a second; P1 and P3 by repetition, the others over the whole phase), against the import
floor: a fresh interpreter that only imports the same service. The goal is judged on the
highest sample of the run; P1's repetitions have a row of their own too.

Every phase, not just P1 and P3: the command side's highest peak of the 7 Dec run came
in P2 and P8, where P6 did not look (docs/performance.md). The command side's kept
aggregates, its largest use of memory that grows with the commands, are read from its
`/metrics` at the end into `details.P6`, to tell their part from the rest."""

from __future__ import annotations

import asyncio
import sys

from bench.core import Bench
from bench.stats import Row, Target

IMPORTS = {
    "access-service": "import services.access.main, services.access.api",
    "access-queries": "import services.access.main, services.access.api",
    "notifications-service": "import services.notifications.main",
    "ocpp-gateway": "import services.ocpp_gateway.main",
}
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (big) forking parent.
_PEAK = ("import re, pathlib; print(re.search(r'VmHWM:\\s+(\\d+)', "
         "pathlib.Path('/proc/self/status').read_text()).group(1))")


async def import_floor_kib(imports: str) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", f"{imports}; {_PEAK}", stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    return int(out.strip() or 0)


async def run(b: Bench, during: dict[str, list[dict[str, int]]]) -> None:
    """Per service: a row for P1 (by repetition, as every run before had) and one for the
    highest sample of any phase, the figure the goal is about; each phase's peak goes
    into `details.P6`."""
    page = await asyncio.to_thread(b.system.access_metrics)  # empty when it did not answer
    cache = {name.removeprefix("access_aggregate_cache_"): value
             for name, value in page.items() if name.startswith("access_aggregate_cache_")}
    if cache:
        b.details.setdefault("P6", {})["aggregate cache"] = cache
        b.say(f"P6: the command side keeps {cache.get('states', 0):,.0f} aggregates, "
              f"{cache.get('bytes', 0) / 2**20:.1f} MiB pickled "
              f"({cache.get('hits_total', 0):,.0f} hits, "
              f"{cache.get('misses_total', 0):,.0f} misses)")
    for service, imports in IMPORTS.items():
        by_phase = {phase: max(r.get(service, 0) for r in reps) / 1024
                    for phase, reps in during.items()}
        by_phase = {phase: mb for phase, mb in by_phase.items() if mb}
        if not by_phase:
            continue
        floor = [await import_floor_kib(imports) / 1024 for _ in range(b.plan.reps)]
        b.details.setdefault("P6", {})[service] = {p: round(mb, 1) for p, mb in by_phase.items()}
        p1 = [r[service] / 1024 for r in during.get("P1", []) if r.get(service)]
        if p1:
            b.rows.append(Row("P6", f"{service} peak RSS during P1", "MB", p1, floor,
                              "import-only RSS", "lower", Target("value", "<=", 200.0),
                              _high_water(service, during.get("P1", []))))
        highest = max(by_phase, key=lambda phase: by_phase[phase])
        every = [r for reps in during.values() for r in reps]
        b.rows.append(Row("P6", f"{service} peak RSS in any phase", "MB", [by_phase[highest]],
                          floor, "import-only RSS", "lower", Target("value", "<=", 200.0),
                          f"highest in {highest} of {len(by_phase)} phases; "
                          f"{_high_water(service, every)}"))


def _high_water(service: str, samples: list[dict[str, int]]) -> str:
    """The kernel's own peak (VmHWM) as the last of these samples read it: a check on the
    sampled peak, which a spike between two samples could miss."""
    hwm = max((r.get(f"{service}.VmHWM", 0) for r in samples), default=0) / 1024
    return f"VmHWM since start {hwm:.0f} MB"
