"""P1: commands end to end (publish on Kafka → result on Kafka) at saturation, against
the `eventsourcing` library's own Application doing the same commands one per transaction
(`bench.peer_app`, served over Kafka by `bench.peer_service`), same database, same run;
and a lone command's latency against the floor of two raw Kafka round trips and one raw
commit (`bench.latency_floor`), the two alternating in chunks once P1's load is worked off.

`concurrency` clients each run owner journeys back to back — RegisterUser, then
RegisterCharger by that user, then InviteUser on that charger — waiting for each result
before the next command (the later commands depend on the earlier ones). The peer gets
the same clients, journeys and client code, on topics of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from bench import cpu, latency_floor, p5_email
from bench.core import Bench
from bench.helper_process import helper
from bench.kafka import (
    LONE_LINGER_MS,
    Commands,
    Outcome,
    invite_user,
    register_charger,
    register_user,
)
from bench.stats import Row, Target, median, percentile
from charger_access_client.topics import Topics

PEER_PREFIX = "bench-peer."
LONE_CHUNK = 30
"""Lone commands (ten journeys) between two chunks of the floor's samples, as many."""
LONE_WARM_UP = 9
"""Lone commands (three journeys) sent and not kept before the first chunk, as the floor
warms its clients with samples it does not keep (`latency_floor.Floor`): a new client's
first commands wait on its first fetches and metadata, and on a fresh system the first
chunk ran ~1.5x the next ones (27 against 17-21 ms at the median, a probe of 6 Dec)."""


class _Tally:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.completed = 0
        self.outcomes: Counter[str] = Counter()
        self.latencies: list[float] = []

    def add(self, outcome: Outcome) -> None:
        if outcome.received_at <= self.deadline:
            self.completed += 1
            self.latencies.append(outcome.latency)
        self.outcomes[str(outcome.result.get("reason") or outcome.result.get("status"))] += 1


async def _journeys(b: Bench, tally: _Tally, commands: Commands, ours: bool) -> None:
    """Journeys until the deadline; `ours`: note the pairs and invitations made (the
    measures after P1 use ours, never the peer's)."""
    run = commands.run
    while time.monotonic() < tally.deadline:
        user, charger, invitation = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        outcome = await run(*register_user(user))
        tally.add(outcome)
        if not outcome.accepted or time.monotonic() >= tally.deadline:
            continue
        outcome = await run(*register_charger(user, charger))
        tally.add(outcome)
        if not outcome.accepted:
            continue
        if ours:
            b.pairs.append((user, charger))
        if time.monotonic() >= tally.deadline:
            continue
        outcome = await run(*invite_user(user, charger, invitation))
        tally.add(outcome)
        if outcome.accepted and ours:
            b.invites_accepted += 1


async def drive(b: Bench, seconds: float, commands: Commands | None = None,
                clients: int | None = None) -> _Tally:
    """`clients` (default: the plan's concurrency) running journeys for `seconds`, against
    our service, or against the peer when its `commands` client is given."""
    tally = _Tally(time.monotonic() + seconds)
    await asyncio.gather(*(_journeys(b, tally, commands or b.commands, commands is None)
                           for _ in range(clients or b.plan.concurrency)))
    return tally


@contextlib.asynccontextmanager
async def peer(b: Bench) -> AsyncIterator[Commands]:
    """The peer's process, running and following its topics; a client for it."""
    topics = Topics(b.system.topics.prefix + PEER_PREFIX)
    commands = Commands(b.system.kafka, topics)
    await commands.start()  # creates the peer's topics before the peer follows them
    try:
        async with helper("bench.peer_service",
                          [b.system.database_url, b.system.kafka, topics.prefix,
                           str(b.plan.concurrency)],
                          b.out / "system" / "peer.log"):
            yield commands
    finally:
        commands.forget_pending()
        await commands.stop()


async def lone_latencies(b: Bench, commands: int, via: Commands) -> list[float]:
    """Latencies (s) of `commands` accepted commands sent one at a time (journeys), by
    `via`."""
    tally = _Tally(time.monotonic() + 3600)
    while len(tally.latencies) < commands:
        user, charger, invitation = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        for command in (register_user(user), register_charger(user, charger),
                        invite_user(user, charger, invitation)):
            outcome = await via.run(*command)
            if not outcome.accepted:
                raise RuntimeError(f"a lone command was rejected: {outcome.result}")
            tally.add(outcome)
        b.pairs.append((user, charger))
        b.invites_accepted += 1
    return tally.latencies[:commands]


async def run(b: Bench) -> list[dict[str, int]]:
    """Adds the P1 rows; returns each repetition's peak RSS per service (for P6)."""
    plan = b.plan
    b.say(f"P1 warm-up {plan.p1_warmup:.0f} s, then {plan.p1_seconds} s "
          f"at {plan.concurrency} commands in flight")
    values: list[float] = []
    peer_values: list[float] = []
    memory: list[dict[str, int]] = []
    outcomes: Counter[str] = Counter()
    peer_outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    our_cpu: list[dict[str, float]] = []
    peer_cpu: list[dict[str, float]] = []
    seconds_each = plan.p1_seconds[: plan.reps]
    # First on topics still near empty, as the floor's stays: this broker's round trips
    # grow with what its topics hold (`bench.broker_depth`), Apache Kafka's do not.
    fresh, fresh_floors, _ = await _lone_and_floor(b, reps=1, label="lone before the load")
    async with peer(b) as peer_commands:
        await drive(b, plan.p1_warmup)
        await drive(b, plan.p1_warmup, peer_commands)
        # On a shared machine the load drifts within minutes: ours and the peer's
        # repetitions alternate, each taking the lead in turn, so neither gets the quiet.
        for rep, seconds in enumerate(seconds_each):
            for ours in ((True, False) if rep % 2 == 0 else (False, True)):
                if not ours:
                    before = cpu.take()
                    tally = await drive(b, seconds, peer_commands)
                    peer_cpu.append(cpu.per_command(before, cpu.take(), tally.completed))
                    peer_values.append(tally.completed / seconds)
                    peer_outcomes.update(tally.outcomes)
                    b.say(f"P1 peer rep {rep + 1}: {peer_values[-1]:.0f} cmd/s "
                          f"over {seconds:.0f} s")
                    continue
                peaks: dict[str, int] = {}
                async with (b.peak_rss(peaks),
                            b.profiled("access-service", "p1-access-service", rep == 0),
                            b.profiled("notifications-service", "p1-notifications", rep == 0)):
                    before = cpu.take()
                    tally = await drive(b, seconds)
                    our_cpu.append(cpu.per_command(before, cpu.take(), tally.completed))
                values.append(tally.completed / seconds)
                memory.append(peaks)
                outcomes.update(tally.outcomes)
                latencies.extend(tally.latencies)
                b.say(f"P1 rep {rep + 1}: {values[-1]:.0f} cmd/s over {seconds:.0f} s")
    for side, runs in (("ours", our_cpu), ("peer", peer_cpu)):
        spent = cpu.medians(runs)
        b.say(f"P1 CPU per command, {side} (ms, median): " + ", ".join(
            f"{part} {ms:.2f}" for part, ms in sorted(spent.items(), key=lambda kv: -kv[1])))
    lone, floors, parts = await _lone_and_floor(b)
    note = f"{plan.concurrency} in flight; RegisterUser/RegisterCharger/InviteUser journeys"
    b.rows.append(Row(
        "P1", "commands end to end", "cmd/s", values, peer_values,
        "eventsourcing Application, 1 cmd/commit", "higher",
        Target("ratio", ">=", 3.0, of="peer"), note=note,
    ))
    b.rows.append(Row(
        "P1", "lone command latency, p50", "ms", lone, floors,
        "2 Kafka round trips + 1 commit", "lower", Target("ratio", "<=", 1.5, of="floor"),
        note=f"one command in flight, {plan.p1_lone_commands} per repetition",
    ))
    b.rows.append(Row(
        "P1", "lone command latency, p50, before the load", "ms", fresh, fresh_floors,
        "2 Kafka round trips + 1 commit", "lower",
        note="the same, on topics as near empty as the floor's (no goal of its own: the "
             "test broker's round trips grow with its topics, bench.broker_depth)",
    ))
    details: dict[str, Any] = {
        "seconds": list(seconds_each),
        "concurrency": plan.concurrency,
        "median_rate": median(values),
        # Every process's CPU per completed command during the repetitions (`bench.cpu`):
        # what each side costs the machine, beside how fast it went.
        "cpu_ms_per_command": {"ours": cpu.medians(our_cpu), "peer": cpu.medians(peer_cpu)},
        "outcomes": dict(outcomes),
        "latency_ms": {"p50": percentile(latencies, 50) * 1000,
                       "p99": percentile(latencies, 99) * 1000},
        "peer": {"rates": peer_values, "outcomes": dict(peer_outcomes)},
        "floor": parts,
    }
    b.details["P1"] = details
    return memory


async def _lone_and_floor(b: Bench, reps: int | None = None, label: str = "lone",
                          ) -> tuple[list[float], list[float], list[dict[str, float]]]:
    """Per repetition (`reps`, default the plan's): the lone commands' p50 (ms) and the
    floor (ms).

    Both on the same machine: first P1's load is worked off (every invitation of it
    e-mailed), or the lone commands would share the cores with its backlog while the
    floor, measured after them, found them quieter; then the lone commands and the
    floor's samples alternate in chunks of `LONE_CHUNK`."""
    drained = await p5_email.drain(b)
    lone: list[float] = []
    floors: list[float] = []
    parts: list[dict[str, float]] = []
    topic = f"{b.system.topics.prefix}bench.floor"
    # The lone commands go through a client of their own that sends at once, as the
    # floor's raw producer does; the many-in-flight client's linger would add its 2 ms.
    client = Commands(b.system.kafka, b.system.topics, linger_ms=LONE_LINGER_MS)
    await client.start()
    try:
        await lone_latencies(b, LONE_WARM_UP, client)  # not kept
        async with latency_floor.Floor(b.system.kafka, topic, b.system.database_url) as raw:
            for rep in range(b.plan.reps if reps is None else reps):
                latencies: list[float] = []
                trips: list[float] = []
                commits: list[float] = []
                while len(latencies) < b.plan.p1_lone_commands:
                    latencies += await lone_latencies(b, LONE_CHUNK, client)
                    more_trips, more_commits = await raw.sample(LONE_CHUNK)
                    trips += more_trips
                    commits += more_commits
                lone.append(median(latencies) * 1000)
                floors.append(latency_floor.floor(trips, commits) * 1000)
                parts.append({"kafka_round_trip_ms": median(trips) * 1000,
                              "commit_ms": median(commits) * 1000,
                              "lone_p99_ms": percentile(latencies, 99) * 1000,
                              "backlog_waited_s": drained["waited_s"]})
                b.say(f"P1 {label} rep {rep + 1}: p50 {lone[-1]:.2f} ms, floor {floors[-1]:.2f} ms "
                      f"(round trip {parts[-1]['kafka_round_trip_ms']:.2f} ms, commit "
                      f"{parts[-1]['commit_ms']:.2f} ms)")
    finally:
        await client.stop()
    return lone, floors, parts
