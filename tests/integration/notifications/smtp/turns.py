"""Watching the turns of the event loop between an e-mail's last byte and its hand-over,
for the tests of `smtp.in_kernel`: a kill in any such turn would send the e-mail again."""

from __future__ import annotations

import asyncio

from services.notifications.smtp.wire import SmtpConnection


class HandOverWatch:
    """Pass `hand_over` to `SmtpConnection.send` and run `watch` beside it."""

    def __init__(self, connection: SmtpConnection) -> None:
        self._connection = connection
        self.unsent_when_handed: list[int] = []
        self.turns_between = 0
        """Turns in which every byte was in the kernel and the hand-over had not come."""
        self.buffered = asyncio.Event()
        """Set once bytes were seen waiting: the kernel could not take them at once."""

    def hand_over(self) -> None:
        self.unsent_when_handed.append(self._connection.unsent())

    async def watch(self) -> None:
        """Look once per turn of the loop until the hand-over came."""
        while not self.unsent_when_handed:
            if self._connection.unsent() > 0:
                self.buffered.set()
            elif self.buffered.is_set():
                self.turns_between += 1
            await asyncio.sleep(0)
