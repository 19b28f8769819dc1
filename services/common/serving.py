"""Running a service as its own process: one log format, and serving until SIGTERM or
SIGINT, then stopping, so that a supervisor's stop drains the service instead of cutting it."""

from __future__ import annotations

import asyncio
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
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    service = make()
    await service.start()
    try:
        await stopping.wait()
    finally:
        await service.stop()


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
