"""Baselines that need a server of their own (P1's peer, P3's HTTP floor) run it as a
separate process, as the service runs in one: the benchmark's own event loop, busy
driving the load, then never slows the baseline down, nor the baseline the driver."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from services.common.timeouts import wait_for

ROOT = Path(__file__).resolve().parent.parent


@contextlib.asynccontextmanager
async def helper(module: str, args: list[str], log_path: Path,
                 ready_within: float = 60.0) -> AsyncIterator[None]:
    """`python -m module *args` running, once it printed `ready`; stopped (SIGTERM, then
    SIGKILL after 20 s) when the block ends. Its stderr goes to `log_path`."""
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, *args, cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=log)
        try:
            assert process.stdout is not None
            line = await wait_for(process.stdout.readline(), ready_within)
            if line.strip() != b"ready":
                raise RuntimeError(f"{module} did not start (see {log_path})")
            yield
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
                    await process.wait()
