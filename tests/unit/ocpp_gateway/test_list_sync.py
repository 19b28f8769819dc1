"""The list sync's decisions against a charger that answers as told (no I/O)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from services.access.local_lists.entries import EntryInfo, TokenKey
from services.access.local_lists.reads import ListAt
from services.common import fault_points
from services.common.timeouts import wait_for
from services.ocpp_gateway.changes import ListChange
from services.ocpp_gateway.dialects.v16 import Ocpp16
from services.ocpp_gateway.list_sync import ListSync
from services.ocpp_gateway.metrics import GatewayMetrics
from services.ocpp_gateway.rpc import CallRefused

CHARGER = uuid.uuid4()


class Charger:
    def __init__(self, version: int, refuse: int = 0, per_message: int | None = None) -> None:
        self.version = version
        self.refuse = refuse
        self.per_message = per_message
        self.sent: list[tuple[str, int]] = []

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action == "GetLocalListVersion":
            return {"listVersion": self.version}
        if action == "GetConfiguration":
            if self.per_message is None:
                return {"unknownKey": payload["key"]}
            key = payload["key"][0]
            return {"configurationKey": [{"key": key, "value": str(self.per_message)}]}
        self.sent.append((payload["updateType"], payload["listVersion"]))
        if self.refuse:
            self.refuse -= 1
            return {"status": "VersionMismatch"}
        self.version = payload["listVersion"]
        return {"status": "Accepted"}


class Lists:
    def __init__(self, version: int, tokens: int = 1) -> None:
        self.version = version
        self.tokens = tokens

    async def current_version(self, charger_id: uuid.UUID) -> int | None:
        return self.version

    async def full(self, charger_id: uuid.UUID) -> ListAt | None:
        entries = {TokenKey(f"T{n}", "ISO14443"): EntryInfo("Accepted") for n in range(self.tokens)}
        return ListAt(self.version, "Full", entries, entries)


def change(version: int) -> ListChange:
    diff = {"listVersion": version, "updateType": "Differential", "localAuthorizationList": []}
    return ListChange(CHARGER, version, version - 1, {"ocpp16": diff})


async def run_with(charger: Charger, lists: Lists, *changes: ListChange) -> GatewayMetrics:
    metrics = GatewayMetrics(dict)
    sync = ListSync(CHARGER, charger, Ocpp16(), lists, metrics)  # type: ignore[arg-type]
    for c in changes:
        sync.changed(c)
    task = asyncio.create_task(sync.run())
    for _ in range(100):  # the fakes never wait: a few turns of the loop run every step
        await asyncio.sleep(0)
    assert not task.done(), task
    task.cancel()
    return metrics


async def test_a_charger_in_step_gets_nothing_then_each_differential() -> None:
    charger = Charger(3)
    await run_with(charger, Lists(3), change(3), change(4), change(5))
    assert charger.sent == [("Differential", 4), ("Differential", 5)]


async def test_a_charger_behind_gets_the_full_list_and_older_changes_are_skipped() -> None:
    charger = Charger(1)
    await run_with(charger, Lists(5), change(4), change(5), change(6))
    assert charger.sent == [("Full", 5), ("Differential", 6)]


async def test_a_refused_differential_is_followed_by_the_full_list() -> None:
    charger = Charger(4, refuse=1)
    metrics = await run_with(charger, Lists(4), change(5))
    assert charger.sent == [("Differential", 5), ("Full", 4)]
    assert metrics.list_refusals == {"VersionMismatch": 1}
    assert metrics.lists_sent == {"Differential": 1, "Full": 1}


async def test_a_refused_full_list_is_sent_again_at_the_next_change_not_in_a_loop() -> None:
    charger = Charger(1, refuse=1)
    await run_with(charger, Lists(4))
    assert charger.sent == [("Full", 4)]
    charger = Charger(1, refuse=1)
    await run_with(charger, Lists(4), change(5))
    assert charger.sent == [("Full", 4), ("Full", 4)]


class NoLists(Charger):
    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action == "GetLocalListVersion":
            raise CallRefused("NotImplemented", "no local list here")
        return await super().call(action, payload)


async def test_a_charger_without_local_lists_is_left_alone_and_stays_connected() -> None:
    charger = NoLists(0)
    sync = ListSync(CHARGER, charger, Ocpp16(), Lists(3), GatewayMetrics(dict))  # type: ignore[arg-type]
    sync.changed(change(4))
    await wait_for(sync.run(), 1)  # returns: nothing to keep in step
    assert charger.sent == []


class RefusesLists(Charger):
    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action == "SendLocalList":
            self.sent.append((payload["updateType"], payload["listVersion"]))
            raise CallRefused("NotSupported", "lists are read-only here")
        return await super().call(action, payload)


async def test_a_callerror_to_a_list_counts_as_a_refusal_not_a_broken_connection() -> None:
    charger = RefusesLists(1)
    metrics = await run_with(charger, Lists(3))
    assert charger.sent == [("Full", 3)]
    assert metrics.list_refusals == {"NotSupported": 1}


class MovingLists(Lists):
    """A read model that moves on without the topic saying so (a lost record)."""

    async def current_version(self, charger_id: uuid.UUID) -> int | None:
        await asyncio.sleep(0)
        return self.version


async def test_a_version_the_topic_never_brought_is_caught_up_by_the_recheck() -> None:
    charger, lists = Charger(3), MovingLists(3)
    sync = ListSync(CHARGER, charger, Ocpp16(), lists, GatewayMetrics(dict), recheck_seconds=0)  # type: ignore[arg-type]
    task = asyncio.create_task(sync.run())
    for _ in range(20):
        await asyncio.sleep(0)
    assert charger.sent == []  # in step: rechecks find nothing to do
    lists.version = 5
    for _ in range(50):
        await asyncio.sleep(0)
    task.cancel()
    assert charger.sent == [("Full", 5)]  # once, after it was behind twice in a row


async def test_the_gateway_point_after_a_list_is_sent_fires_before_the_answer_is_kept() -> None:
    charger = Charger(1)
    sync_held: list[tuple[list[tuple[str, int]], int]] = []
    fault_points.arm(
        "gateway.after_list_sent_before_confirmed:1",
        lambda code: sync_held.append((list(charger.sent), code)),
    )
    try:
        await run_with(charger, Lists(5))
    finally:
        fault_points.arm(None)
    assert sync_held == [([("Full", 5)], fault_points.EXIT_CODE)]


async def test_the_mid_parts_point_fires_between_the_parts_of_a_list() -> None:
    charger = Charger(1, per_message=2)
    fired: list[list[tuple[str, int]]] = []
    fault_points.arm("gateway.mid_parts:2", lambda code: fired.append(list(charger.sent)))
    try:
        await run_with(charger, Lists(5, tokens=5))
    finally:
        fault_points.arm(None)
    assert charger.sent == [("Full", 4), ("Differential", 4), ("Differential", 5)]
    assert fired == [[("Full", 4), ("Differential", 4)]]
