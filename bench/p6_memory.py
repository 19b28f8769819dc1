"""P6: peak RSS of each service while P1 and P3 ran (sampled VmRSS, 5 times a second),
against the import floor: a fresh interpreter that only imports the same service."""

from __future__ import annotations

import asyncio
import sys

from bench.core import Bench
from bench.stats import Row, Target

IMPORTS = {
    "access-service": "import services.access.main, services.access.api",
    "access-queries": "import services.access.main, services.access.api",
    "notifications-service": "import services.notifications.main",
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
    for service, imports in IMPORTS.items():
        floor = [await import_floor_kib(imports) / 1024 for _ in range(b.plan.reps)]
        for phase, reps in during.items():
            peaks = [r[service] / 1024 for r in reps if r.get(service)]
            if not peaks:
                continue
            hwm = max(r.get(f"{service}.VmHWM", 0) for r in reps) / 1024
            b.rows.append(Row("P6", f"{service} peak RSS during {phase}", "MB", peaks, floor,
                              "import-only RSS", "lower", Target("value", "<=", 200.0),
                              f"VmHWM since start {hwm:.0f} MB"))
