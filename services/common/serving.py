"""Running a service as its own process: one log format, and serving until SIGTERM or
SIGINT, then stopping, so that a supervisor's stop drains the service instead of cutting it."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from collections.abc import Callable, Iterable
from typing import Protocol

from services.common import logs, tracing
from services.common.errors import SettingError, UnreachableError

log = logging.getLogger(__name__)


class Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def serve_until_signalled(make: Callable[[], Service]) -> None:
    """Build the service inside the running loop, start it, and stop it on the first signal."""
    thresholds = collector_thresholds(os.environ.get(GC_THRESHOLDS_VARIABLE, ""))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    service = make()
    await service.start()
    freeze_startup_heap()
    gc.set_threshold(*thresholds)
    try:
        await stopping.wait()
    finally:
        await service.stop()


def freeze_startup_heap() -> None:
    """Keep what the process holds once started out of every later garbage collection.

    A full (oldest-generation) collection walks every object the process holds: the
    modules, pydantic's and FastAPI's schemas, the service's wiring, over 100 k objects
    that live as long as the process and are never garbage. A read that allocates a lot
    (a timeline page decoding a 1 000-charger event) sets collections off, and those full
    walks were half of such a page's CPU and all of the slowest pages' extra time (at
    100 k events: 11.7 → 6.4 ms of CPU a page, the slowest 65 to 80 ms → 20 to 30 ms).
    `gc.freeze` moves them to a generation the collector never visits; what is made
    later is collected as before."""
    gc.collect()
    gc.freeze()


GC_THRESHOLDS_VARIABLE = "GC_THRESHOLDS"
SERVICE_GC_THRESHOLDS = (10_000, 10, 10)
"""Python's default is (700, 10, 10): a full collection may come every 70 000 allocations
that outlive a young collection, and each walks every object made since the start-up heap
was frozen. Under P1's and P2's load the command side made 13-14 of them in four minutes,
up to 168 ms each (then walking the aggregates it kept as objects, since kept pickled),
every command in flight waiting. A young generation of 10 000 makes them about 14 times
rarer; a young collection then walks at most ~10 000 objects (about a millisecond)."""


def collector_thresholds(text: str) -> tuple[int, int, int]:
    """`GC_THRESHOLDS` as `gc.set_threshold` takes them (`700,10,10` is Python's own);
    empty: `SERVICE_GC_THRESHOLDS`."""
    if not text.strip():
        return SERVICE_GC_THRESHOLDS
    try:
        first, second, third = (int(part) for part in text.split(","))
    except ValueError:
        raise SettingError(f"{GC_THRESHOLDS_VARIABLE} must be three integers, e.g. "
                           f"'700,10,10'; got {text!r}") from None
    if min(first, second, third) < 1:
        raise SettingError(f"{GC_THRESHOLDS_VARIABLE} must be positive; got {text!r}")
    return first, second, third


def run_service(
    make: Callable[[], Service], *, quiet: Iterable[str] = (), name: str = "charger-access"
) -> None:
    """The process's entry point: logging at INFO (`quiet` loggers at WARNING, the format
    `LOG_FORMAT` names), traces when an OTLP endpoint is set (`name`: the service's name
    on its spans), then serve. A bad setting or an unreachable server ends it with one
    line and exit status 2."""
    try:
        logs.configure(quiet)
    except SettingError as error:
        logging.basicConfig()
        log.error("cannot start: %s", error)
        raise SystemExit(2) from None
    if tracing.configure(name):
        log.info("traces exported to %s", os.environ[tracing.ENDPOINT_VARIABLE])
    try:
        asyncio.run(serve_until_signalled(make))
    except (SettingError, UnreachableError) as error:
        log.error("cannot start: %s", error)
        raise SystemExit(2) from None
