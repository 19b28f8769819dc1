"""What a round sends: leased rows as attempts, grouped into one turn per recipient.

A person's e-mails go in event order, and a turn waits for the same person's turn of any
earlier round, so a reminder never overtakes a withdrawal even when rounds overlap (the
fast path's and the retry loop's).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from services.notifications.mail.recipients import Notification
from services.notifications.ports import Claim


@dataclass
class Outgoing:
    """An e-mail to send and its sent-log row."""

    notification: Notification
    claim: Claim


@dataclass
class Attempt:
    """One leased row to send in this round."""

    event_id: UUID
    recipient: str
    outgoing: Outgoing | None
    attempts_before: int
    claimed_at: datetime
    send_by: float
    """monotonic deadline: past it the lease may run out before the send ends, so skip."""
    probe: bool = False


@dataclass
class Turn:
    """One recipient's e-mails in a round, sent in order once `after` is done."""

    recipient: str
    attempts: list[Attempt]
    after: asyncio.Future[None] | None
    done: asyncio.Future[None]


@dataclass
class Turns:
    """Each recipient's last queued turn, which the next round's turn for them waits on."""

    _tails: dict[str, asyncio.Future[None]] = field(default_factory=dict)

    def queue(self, attempts: list[Attempt]) -> list[Turn]:
        """Group a round by recipient, in event order, each group after any earlier
        round's group for the same person. Synchronous, so rounds queue up in the order
        they were created."""
        groups: dict[str, list[Attempt]] = {}
        for attempt in attempts:
            groups.setdefault(attempt.recipient, []).append(attempt)
        loop = asyncio.get_running_loop()
        turns = []
        for recipient, group in groups.items():
            group.sort(key=lambda a: a.outgoing.claim.sequence if a.outgoing else 0)
            turn = Turn(recipient, group, self._tails.get(recipient), loop.create_future())
            self._tails[recipient] = turn.done
            turns.append(turn)
        return turns

    def end(self, turn: Turn) -> None:
        """Let the recipient's next turn go (idempotent: a turn may be ended twice)."""
        if not turn.done.done():
            turn.done.set_result(None)
        if self._tails.get(turn.recipient) is turn.done:
            del self._tails[turn.recipient]
