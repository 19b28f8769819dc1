"""`notifications-service`: run the notification service until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal

from services.notifications.config import NotificationSettings
from services.notifications.service import NotificationService


async def run(settings: NotificationSettings) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    service = NotificationService(settings)
    await service.start()
    try:
        await stopping.wait()
    finally:
        await service.stop()


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(run(NotificationSettings.from_env()))


if __name__ == "__main__":
    main()
