"""(9) Read-your-writes under faults: a client holding a command's result asks the query
API with `min_position` set to the result's position, and must get the state that
includes its write, or an honest 503 (SPEC "Query API"), never an older state that looks
current, whatever happens to the read side meanwhile.

The access service runs as `make run` runs it: its command side (whose own API answers
at the position of the projection's tracking row) and its read side (projection and query
API). Under the usual load, every accepted `RegisterCharger`'s charger is read back,
`GET /v1/chargers/{id}?min_position=<its result's position>`, from the two APIs by turns,
while the read side is killed -9, later stopped (SIGSTOP) for longer than the API's
5 s wait, and killed again. A read is:

- **fresh**: 200, its position at least the one asked for, the charger there;
- **stale**: 200 with a lower position, or 404 (no charger is ever removed here): the
  violation this scenario exists to catch (check `no_stale_reads`);
- **behind**: 503 with a lower position (the wait ran out): allowed;
- **down**: no answer (the process killed or stopped).

It also checks that both APIs answer fresh again after the last fault.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from faults.report import Figures
from faults.scenarios import Scenario
from faults.scenarios.common import say, under_load, with_system
from faults.system import System
from faults.traffic import Traffic

RATE = 30.0
STOPPED_S = 8.0
"""Longer than the query API's `min_position` wait (5 s), so reads run out of it."""
READERS = 8


@dataclass
class Reads:
    """What each API answered, by kind (fresh, stale, behind, down)."""

    kinds: dict[str, Counter[str]] = field(default_factory=dict)
    stale: list[dict[str, object]] = field(default_factory=list)
    """The first stale answers, for the report."""
    last: dict[str, str] = field(default_factory=dict)
    """Each API's latest answer's kind."""

    def count(self, api: str, kind: str) -> None:
        self.kinds.setdefault(api, Counter())[kind] += 1
        self.last[api] = kind


def judged(status: int, body: dict[str, object], charger: str, asked: int) -> str:
    """A read's kind from its answer (see the module's docstring)."""
    position = body.get("position")
    if not isinstance(position, int):
        return "stale" if status in (200, 404) else "down"
    if status == 200:
        return "fresh" if position >= asked and body.get("charger_id") == charger else "stale"
    if status == 404:
        return "stale"
    if status == 503:
        return "behind" if position < asked else "stale"
    return "down"


class Reader:
    """Reads back every accepted `RegisterCharger` the traffic's follower has seen."""

    def __init__(self, traffic: Traffic, apis: dict[str, str], token: str) -> None:
        self.traffic = traffic
        self.apis = apis
        self.reads = Reads()
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=2.0),
                                         headers={"Authorization": f"Bearer {token}"})
        self._slots = asyncio.Semaphore(READERS)
        self._turn = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`, then until every result seen so far is read."""
        done = 0
        pending: set[asyncio.Task[None]] = set()
        try:
            while True:
                ids = list(self.traffic.wire.results)
                for command_id in ids[done:]:
                    wanted = self._wanted(command_id)
                    if wanted is not None:
                        await self._slots.acquire()
                        task = asyncio.create_task(self._read(*wanted))
                        pending.add(task)
                        task.add_done_callback(pending.discard)
                done = len(ids)
                if stop.is_set() and done == len(self.traffic.wire.results):
                    break
                await asyncio.sleep(0.05)
            await asyncio.gather(*pending)
        finally:
            await self._client.aclose()

    def _wanted(self, command_id: str) -> tuple[str, int] | None:
        sent = self.traffic.sent.get(command_id)
        if sent is None or sent.type != "RegisterCharger":
            return None
        result = json.loads(self.traffic.wire.results[command_id][0])
        if result["status"] != "accepted" or not isinstance(result["position"], int):
            return None
        return json.loads(sent.value)["data"]["charger_id"], result["position"]

    async def _read(self, charger: str, asked: int) -> None:
        api = list(self.apis)[self._turn % len(self.apis)]
        self._turn += 1
        try:
            response = await self._client.get(f"{self.apis[api]}/v1/chargers/{charger}",
                                              params={"min_position": asked})
            try:
                body = response.json()
            except ValueError:
                body = {}
            kind = judged(response.status_code, body if isinstance(body, dict) else {},
                          charger, asked)
            if kind == "stale" and len(self.reads.stale) < 20:
                self.reads.stale.append({"api": api, "charger": charger, "asked": asked,
                                         "status": response.status_code, "body": body})
        except httpx.HTTPError:
            kind = "down"
        finally:
            self._slots.release()
        self.reads.count(api, kind)


async def body(system: System, traffic: Traffic, figures: Figures) -> None:
    assert system.access is not None
    read_side = system.more_access[0]
    apis = {"read side": system.api_of(read_side), "command side": system.api}
    reader = Reader(traffic, apis, system.token)
    stop_reads = asyncio.Event()
    reading = asyncio.create_task(reader.run(stop_reads))
    faults = 0
    try:
        async with under_load(traffic, RATE, seconds=120):
            await asyncio.sleep(5.0)
            await asyncio.to_thread(read_side.kill)
            faults += 1
            took = await asyncio.to_thread(read_side.start)
            say(figures.scenario, f"read side killed, back in {took:.1f} s")
            await asyncio.sleep(5.0)
            read_side.pause()
            faults += 1
            try:
                await asyncio.sleep(STOPPED_S)
            finally:
                read_side.resume()
            say(figures.scenario, f"read side stopped for {STOPPED_S:.0f} s, continued")
            await asyncio.sleep(5.0)
            await asyncio.to_thread(read_side.kill)
            faults += 1
            took = await asyncio.to_thread(read_side.start)
            say(figures.scenario, f"read side killed again, back in {took:.1f} s")
            await asyncio.sleep(5.0)  # the load and the reads go on after the last fault
        await traffic.flush()
    finally:
        stop_reads.set()  # the reader still reads back every result it has seen
        await reading
    figures.faults = faults
    reads = reader.reads
    figures.details["reads"] = {api: dict(kinds) for api, kinds in reads.kinds.items()}
    figures.details["stale_examples"] = reads.stale
    figures.details["last_read"] = reads.last
    stale = sum(kinds["stale"] for kinds in reads.kinds.values())
    figures.checks["no_stale_reads"] = stale == 0
    figures.checks["both_apis_fresh_after_the_faults"] = all(
        reads.last.get(api) == "fresh" for api in apis)
    say(figures.scenario, "reads: " + "; ".join(
        f"{api} {dict(kinds)}" for api, kinds in reads.kinds.items()))


def run(var: Path) -> Figures:
    figures = Figures("read-your-writes", "min_position reads while the read side is killed "
                                          "and stopped")
    return with_system(figures, var, body, split=True)


SCENARIOS = [Scenario("read-your-writes", "every accepted charger read back with min_position "
                                          "from both APIs while the read side is killed twice "
                                          "and stopped for 8 s; never a stale answer", run, 90)]
