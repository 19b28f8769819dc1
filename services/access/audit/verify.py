"""Walking the hash chain: each stored event must link to the one before it.

Every link is recomputed from the stored row and the previous *recomputed* link, so an
altered row, a removed row (with or without its link) or a reordering breaks the chain
at the first position it touches, and `verify` names that position.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from typing import Any

from services.access.audit.store import StoredRow
from services.access.store.chain import GENESIS, link


@dataclass(frozen=True)
class Verdict:
    ok: bool
    count: int
    """Events whose links matched."""
    last_position: int
    last_hash: str
    """Hex of the last matching link: note it, and a later `verify` proves nothing before
    it changed (also not the end of the log being cut off)."""
    broken_at: int | None = None
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "count": self.count, "last_position": self.last_position,
                "last_hash": self.last_hash, "broken_at": self.broken_at,
                "problem": self.problem}


class ChainWalker:
    """Feed it stored rows in position order; it stops at the first broken link."""

    def __init__(self, previous: bytes = GENESIS) -> None:
        self.previous = previous
        self.count = 0
        self.position = 0
        self.broken: tuple[int, str] | None = None

    def feed(self, row: StoredRow) -> bool:
        """Check one row; False (and `broken` set) when it does not match."""
        problem = self._problem(row)
        if problem is not None:
            self.broken = (row.position, problem)
            return False
        assert row.hash is not None
        self.previous, self.position = row.hash, row.position
        self.count += 1
        return True

    def _problem(self, row: StoredRow) -> str | None:
        if row.state is None or row.topic is None or row.originator_id is None:
            return "the event is missing (its chain link is still stored)"
        if row.hash is None:
            return "the event has no chain link"
        expected = link(self.previous, row.position, row.originator_id,
                        row.originator_version or 0, row.topic, row.state)
        if expected != row.hash:
            return "the stored event does not match its chain link (altered, or an event " \
                   "before it was removed)"
        return None

    def verdict(self) -> Verdict:
        position, problem = self.broken if self.broken else (None, None)
        return Verdict(self.broken is None, self.count, self.position, self.previous.hex(),
                       position, problem)


async def walk(rows: AsyncIterable[StoredRow],
               progress: Callable[[int], None] | None = None) -> Verdict:
    """Verify every row; stop at the first that does not match."""
    walker = ChainWalker()
    async for row in rows:
        if not walker.feed(row):
            break
        if progress is not None:
            progress(row.position)
    return walker.verdict()
