"""`access-service`: runs the access service until SIGTERM / SIGINT, then drains."""

from __future__ import annotations

import asyncio
import logging
import signal

from services.access.bootstrap import AccessService
from services.access.config import AccessSettings


async def _serve() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    service = AccessService(AccessSettings.from_env())
    await service.start()
    try:
        await stop.wait()
    finally:
        await service.stop()


def main() -> None:
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    asyncio.run(_serve())


if __name__ == "__main__":
    main()
