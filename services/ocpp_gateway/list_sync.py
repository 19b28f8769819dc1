"""Keeping one connected charger's local list equal to the read model's, one step at a
time (a single task per connection, so steps never overlap):

1. on connect, ask `GetLocalListVersion`; send the Full list when it differs from the
   read model's current version;
2. on each `LocalListChanged` for it: the event's Differential when the charger holds
   the version before, nothing when it already holds that version or a later one, else
   the Full list;
3. a `VersionMismatch` or `Failed` answer → the Full list (once; a charger refusing that
   too is left until the next change or reconnection, never retried in a loop);
4. a safety net for changes the topic never brought (a broker that restarted empty, a
   record skipped): every `recheck_seconds` without a change, the read model's version
   is compared with the charger's; behind twice in a row (not merely a change still on
   its way), it gets the Full list.

What the charger holds is learnt from the charger and the read model, never stored: a
reconnecting charger (to any instance) starts again at 1.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal, Protocol
from uuid import UUID

from services.access.local_lists.reads import ListAt
from services.common import fault_points
from services.common.timeouts import wait_for
from services.ocpp_gateway.changes import ListChange
from services.ocpp_gateway.dialects import Dialect
from services.ocpp_gateway.metrics import GatewayMetrics
from services.ocpp_gateway.parts import in_parts
from services.ocpp_gateway.rpc import CallRefused, OcppLink, Payload

log = logging.getLogger(__name__)

NO_LIST_SUPPORT = -1
"""What an OCPP 1.6 charger without a local list answers to GetLocalListVersion."""


class Lists(Protocol):
    """The read model's lists."""

    async def current_version(self, charger_id: UUID) -> int | None: ...

    async def full(self, charger_id: UUID) -> ListAt | None: ...


class ListSync:
    def __init__(
        self,
        charger_id: UUID,
        link: OcppLink,
        dialect: Dialect,
        lists: Lists,
        metrics: GatewayMetrics,
        recheck_seconds: float = 60.0,
    ) -> None:
        self._charger_id = charger_id
        self._recheck_seconds = recheck_seconds
        self._behind: int | None = None
        """The read model's version when the last recheck found the charger behind it."""
        self._link = link
        self._dialect = dialect
        self._lists = lists
        self._metrics = metrics
        self._changes: asyncio.Queue[ListChange] = asyncio.Queue()
        self._per_message: int | None = None
        self.held: int | None = None
        """The version the charger holds, as far as we know (None: not known)."""

    def changed(self, change: ListChange) -> None:
        self._changes.put_nowait(change)

    async def run(self) -> None:
        """Catch up, then follow the changes until cancelled (the connection closed)."""
        try:
            held = self._dialect.list_version(await self._link.call("GetLocalListVersion", {}))
        except CallRefused as refused:
            held, why = NO_LIST_SUPPORT, refused.code
        else:
            why = "no list support"
        if held == NO_LIST_SUPPORT:
            log.info("charger %s keeps no local list (%s)", self._charger_id, why)
            return
        self.held = held
        self._per_message = await self._dialect.items_per_message(self._link)
        if held != await self._lists.current_version(self._charger_id):
            await self._send_full()
        while True:
            try:
                change = await wait_for(self._changes.get(), self._recheck_seconds)
            except TimeoutError:
                await self._recheck()
            else:
                self._behind = None
                await self._follow(change)

    async def _recheck(self) -> None:
        current = await self._lists.current_version(self._charger_id)
        if current is None or current == self.held:
            self._behind = None
            return
        if self._behind is not None and current >= self._behind:
            log.warning(
                "charger %s still at version %s, the read model at %s: Full list",
                self._charger_id,
                self.held,
                current,
            )
            self._behind = None
            await self._send_full()
            return
        self._behind = current

    async def _follow(self, change: ListChange) -> None:
        if self.held is not None and change.version <= self.held:
            return
        if self.held == change.previous_version:
            request = self._dialect.change_request(change.data)
            if await self._send(request, "Differential"):
                self.held = change.version
                return
        await self._send_full()

    async def _send_full(self) -> None:
        found = await self._lists.full(self._charger_id)
        if found is None:
            return  # the charger is no longer registered: nothing to hold
        self.held = (
            found.version if await self._send(self._dialect.full_request(found), "Full") else None
        )

    async def _send(self, request: Payload, update_type: Literal["Full", "Differential"]) -> bool:
        """Send a list (in parts if need be); True when every part was Accepted."""
        self._metrics.lists_sent[update_type] += 1
        for n, part in enumerate(in_parts(request, self._per_message)):
            if n:
                fault_points.reached("gateway.mid_parts")
            try:
                status = str((await self._link.call("SendLocalList", part)).get("status"))
            except CallRefused as refused:  # a CALLERROR: refused like any other answer
                status = refused.code
            fault_points.reached("gateway.after_list_sent_before_confirmed")
            if status != "Accepted":
                self._metrics.list_refusals[status] += 1
                log.info(
                    "charger %s answered %s to a %s list", self._charger_id, status, update_type
                )
                return False
        return True
