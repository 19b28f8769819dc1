"""Commands in, results out, the way another service would talk to the access service:
through the client package's `AccessClient`.

One client for the whole run; each result's arrival is noted the moment the client's
follower reads it (monotonic clock), so a latency is not stretched by a busy event loop
between the arrival and the awaiting task resuming.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from charger_access_client import CommandResult
from charger_access_client.client import AccessClient
from charger_access_client.topics import Topics
from services.common.kafka import ensure_topics
from services.common.timeouts import wait_for


@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]
    sent_at: float
    received_at: float

    @property
    def accepted(self) -> bool:
        return self.result.get("status") == "accepted"

    @property
    def latency(self) -> float:
        return self.received_at - self.sent_at


def _uuid_str(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


LINGER_MS = 2
"""Many clients in flight: a send waits up to 2 ms to share a request with the others'."""
LONE_LINGER_MS = 0
"""One command in flight: nothing to share a request with, so a send goes at once, as the
latency floor's raw producer sends (`bench.latency_floor`)."""


class Commands:
    def __init__(self, bootstrap: str, topics: Topics, linger_ms: int = LINGER_MS) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.client = AccessClient(bootstrap, topics=topics, source="bench",
                                   on_result=self._arrived,
                                   producer_options={"linger_ms": linger_ms},
                                   consumer_options={"fetch_max_wait_ms": 5})
        self._arrivals: dict[str, float] = {}

    async def start(self) -> None:
        await ensure_topics(self.bootstrap, self.topics.all())
        await wait_for(self.client.start(), 30)

    async def stop(self) -> None:
        await self.client.stop()

    def _arrived(self, result: CommandResult) -> None:
        self._arrivals.setdefault(result.command_id, time.monotonic())

    async def run(self, type_: str, data: dict[str, Any], actor: uuid.UUID,
                  key: uuid.UUID, within: float = 60.0) -> Outcome:
        sent_at = time.monotonic()
        result = await self.client.run(type_, {k: _uuid_str(v) for k, v in data.items()},
                                       actor=actor, key=str(key), timeout=within)
        received_at = self._arrivals.pop(result.command_id, time.monotonic())
        return Outcome(result.model_dump(mode="json"), sent_at, received_at)

    def forget_pending(self) -> int:
        """Drop results nobody will wait for any more (after a phase ended); how many."""
        self._arrivals.clear()
        return self.client.forget_pending()


# --- the command mix -------------------------------------------------------------------


def register_user(user: uuid.UUID) -> tuple[str, dict[str, Any], uuid.UUID, uuid.UUID]:
    data = {"user_id": user, "email": f"u-{user.hex}@bench.example", "name": "Bench User",
            "locale": "en"}
    return "RegisterUser", data, user, user


def register_charger(owner: uuid.UUID,
                     charger: uuid.UUID) -> tuple[str, dict[str, Any], uuid.UUID, uuid.UUID]:
    data = {"charger_id": charger, "serial_number": f"SN-{charger.hex[:20]}",
            "name": "Bench charger"}
    return "RegisterCharger", data, owner, charger


def invite_user(owner: uuid.UUID, charger: uuid.UUID,
                invitation: uuid.UUID) -> tuple[str, dict[str, Any], uuid.UUID, uuid.UUID]:
    data = {"invitation_id": invitation, "email": f"g-{invitation.hex}@bench.example",
            "charger_ids": [str(charger)], "level": "charge"}
    return "InviteUser", data, owner, invitation
