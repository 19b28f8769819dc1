"""Recording each e-mail's outcome right after it is sent, with group commit.

SMTP has no idempotent send: if the process dies after the server accepted an e-mail but
before the sent-log says so, that e-mail goes out again when its lease runs out (with the
same Message-ID). Recording outcomes only once a whole round was sent made that a whole
round of duplicates per crash. Outcomes that arrive together share one write. A sender
waits (`record`) until an outcome is stored before its next send, unless the e-mail's
hand-over mark already keeps it from going twice (`submit`: stored in the background).

Those marked "sent" outcomes are also *held*: written with the next outcome a sender waits
for, at the round's end (`flush`), or once `HOLD_ROWS` are waiting or `HOLD_SECONDS` have
passed, whichever comes first. Unheld, a round of a backlog wrote ~6 outcomes at a time,
each write an `UPDATE` with its arrays encoded and a socket write (~8 % of the service's
CPU in P5). Holding them loses nothing: a crash meanwhile leaves the rows leased and marked
handed over, and `SentLog.settle_handed_over` records them sent once the lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from services.notifications.ports import Finished

log = logging.getLogger(__name__)

RETRY_PAUSES = (0.2, 1.0, 5.0)
HOLD_ROWS = 256
"""At most this many held outcomes wait for one write."""
HOLD_SECONDS = 0.5
"""A held outcome waits at most about this long (far inside a lease's 120 s)."""

Write = Callable[[Sequence[Finished]], Awaitable[None]]


class OutcomeWriter:
    def __init__(self, write: Write) -> None:
        self._write = write
        self._pending: list[Finished] = []
        self._next: asyncio.Future[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._due = asyncio.Event()
        """Set: what is pending goes in the next write, without holding."""

    async def record(self, outcome: Finished) -> None:
        """Return once `outcome` is stored (raises if it could not be)."""
        await asyncio.shield(self.submit(outcome))

    def submit(self, outcome: Finished, *, hold: bool = False) -> asyncio.Future[None]:
        """Queue `outcome` for the next write; the future says when it is stored.
        `hold`: it may wait for others (only for an outcome a crash cannot lose)."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        stored = self._next
        self._pending.append(outcome)
        if not hold or len(self._pending) >= HOLD_ROWS:
            self._due.set()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return stored

    def flush(self) -> None:
        """Write what is held now (the round is over)."""
        self._due.set()

    async def _flush(self) -> None:
        while self._pending:
            if not self._due.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(HOLD_SECONDS):
                        await self._due.wait()
            self._due.clear()
            batch, self._pending = self._pending, []
            done, self._next = self._next, None
            assert done is not None
            try:
                await self._write_with_retries(batch)
            except Exception as error:
                done.set_exception(error)
            else:
                done.set_result(None)

    async def _write_with_retries(self, batch: Sequence[Finished]) -> None:
        for pause in RETRY_PAUSES:
            try:
                await self._write(batch)
                return
            except Exception:
                # Sent but not recorded: the lease keeps others off these rows meanwhile.
                log.exception("recording %d outcomes failed; retrying", len(batch))
                await asyncio.sleep(pause)
        await self._write(batch)
