"""P2: freshness — publish a command → its effect visible through the query API, at a
steady half of the rate P1 measured in the same run (open loop: commands go out on
schedule, whatever the answers).

Each command's result carries its position; the query that proves the effect is asked
with `min_position` = that position, so the time until it answers 200 is the time until
the read model showed the change. Every command is timed from its due time in the
schedule (not from when its task got to run) and every one counts: a rejection is timed
to its answer, a failure at the bound. The raw baseline is a Kafka produce → consume round
trip at the same rate on a topic of our own (the floor under any Kafka command path).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.core import Bench
from bench.http import Pool
from bench.kafka import invite_user, register_charger, register_user
from bench.stats import Row, Target, percentile
from services.common.kafka import ensure_topics
from services.common.timeouts import wait_for

RESULT_WAIT = 30.0
"""A command without a result by then counts as visible at the bound (a censored,
optimistic figure): when the system cannot sustain the rate, p99 shows it anyway. A
command that failed (an error, a wrong answer) counts at least this long."""


@dataclass(frozen=True)
class Answer:
    """When a command's answer was seen (monotonic), and what it was: `what` names
    anything but a change made visible (a rejection, a failure), for the note."""

    at: float
    what: str = ""
    failed: bool = False
    """No answer a client could act on (an error, a wrong answer): counted at the bound."""
    sent: float | None = None
    """When the command left this process: `sent - due` is the load generator's own lag."""
    result: float | None = None
    """When its result arrived: where the time went, the write side or the read side."""


def freshness(due: float, answer: Answer) -> float:
    """Seconds from when the command was due in the schedule to its answer. Timed from
    the schedule, not from when its task ran: a client that falls behind must show in the
    figure (coordinated omission). A failed command counts at least at the bound."""
    waited = answer.at - due
    return max(waited, RESULT_WAIT) if answer.failed else waited


async def open_loop(rate: float, seconds: float, one: Callable[[int], Coroutine[Any, Any, Answer]],
                    lags: list[float] | None = None,
                    halves: list[tuple[float, float]] | None = None,
                    ) -> tuple[list[float], Counter[str]]:
    """Send `rate * seconds` commands on an open-loop schedule (`one(i)` at start + i/rate)
    and time every one of them, accepted, rejected or failed, from its due time; into
    `lags` go how late each command left this process (to tell our lag from the system's),
    into `halves` (due → result, result → visible) of each command made visible."""
    errors: Counter[str] = Counter()
    tasks: list[asyncio.Task[Answer]] = []
    dues: list[float] = []
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        dues.append(due)
        tasks.append(asyncio.create_task(one(i)))
    answers = await asyncio.gather(*tasks)
    errors.update(a.what for a in answers if a.what)
    if lags is not None:
        lags.extend(a.sent - due for due, a in zip(dues, answers, strict=True)
                    if a.sent is not None)
    if halves is not None:
        halves.extend((a.result - due, a.at - a.result)
                      for due, a in zip(dues, answers, strict=True)
                      if a.result is not None and not a.what)
    return [freshness(due, a) for due, a in zip(dues, answers, strict=True)], errors


async def paced(b: Bench, http: Pool, rate: float, seconds: float,
                lags: list[float] | None = None,
                halves: list[tuple[float, float]] | None = None,
                ) -> tuple[list[float], Counter[str]]:
    """P2's load (P8 alternates with it): the three commands, each until visible."""
    return await open_loop(rate, seconds, lambda i: _one(b, http, i), lags, halves)


async def _one(b: Bench, http: Pool, i: int) -> Answer:
    try:
        return await _visible(b, http, i)
    except Exception as error:
        return Answer(time.monotonic(), f"error {type(error).__name__} (counted at the bound)",
                      failed=True)


async def _visible(b: Bench, http: Pool, i: int) -> Answer:
    owner, charger = b.pairs[i % len(b.pairs)]
    kind = i % 3
    if kind == 0:
        user = uuid.uuid4()
        command = register_user(user)
        path = f"/v1/users/{user}/chargers"
    elif kind == 1:
        new_charger = uuid.uuid4()
        command = register_charger(owner, new_charger)
        path = f"/v1/access/check?user_id={owner}&charger_id={new_charger}&level=manage"
    else:
        invitation = uuid.uuid4()
        command = invite_user(owner, charger, invitation)
        path = f"/v1/invitations/{invitation}"
    try:
        outcome = await b.commands.run(*command, within=RESULT_WAIT)
    except TimeoutError:
        return Answer(time.monotonic(), "no result in time (counted at the bound)")
    if not outcome.accepted:
        # The rejection is the answer the client waited for: timed and counted like any.
        return Answer(outcome.received_at, f"rejected {outcome.result.get('reason')} (timed)",
                      sent=outcome.sent_at)
    if kind == 2:
        b.invites_accepted += 1
    sep = "&" if "?" in path else "?"
    response = await http.get(f"{path}{sep}min_position={outcome.result['position']}")
    visible = time.monotonic()
    if response.status == 503:
        return Answer(visible, "503 stale (timed to the refusal)", sent=outcome.sent_at)
    if response.status != 200:
        return Answer(visible, f"http {response.status} (counted at the bound)", failed=True,
                      sent=outcome.sent_at)
    if kind == 1 and not json.loads(response.body).get("allowed"):
        return Answer(visible, "not allowed (counted at the bound)", failed=True,
                      sent=outcome.sent_at)
    return Answer(visible, sent=outcome.sent_at, result=outcome.received_at)


async def kafka_round_trip(b: Bench, rate: float, seconds: float) -> list[float]:
    """Produce → consume latencies (s) at `rate` messages/s on a topic of the benchmark's."""
    topic = f"{b.system.topics.prefix}bench.echo"
    await ensure_topics(b.system.kafka, [topic])
    producer = AIOKafkaProducer(bootstrap_servers=b.system.kafka, acks="all",
                                enable_idempotence=False, linger_ms=2)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=b.system.kafka, group_id=None,
                                auto_offset_reset="latest", enable_auto_commit=False,
                                fetch_max_wait_ms=5)
    await producer.start()
    await consumer.start()
    sent: dict[bytes, float] = {}
    latencies: list[float] = []
    total = int(rate * seconds)

    async def follow() -> None:
        while len(latencies) < total:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.monotonic()
            for records in batches.values():
                for record in records:
                    if (at := sent.pop(record.value, None)) is not None:
                        latencies.append(now - at)

    try:
        for partition in consumer.assignment():
            await consumer.position(partition)
        follower = asyncio.create_task(follow())
        start = time.monotonic()
        for i in range(total):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            value = uuid.uuid4().bytes
            sent[value] = time.monotonic()
            await producer.send(topic, value, key=value)
        with contextlib.suppress(TimeoutError):
            await wait_for(follower, 30)
        follower.cancel()
    finally:
        await consumer.stop()
        await producer.stop()
    return latencies


def rate_for(p1: dict[str, Any], fallback: float) -> float:
    """PERFORMANCE.md's P2 load: half of the rate P1 measured in this run (the write side
    then has room, so the figure is freshness, not queueing); `fallback` when P1 has no
    figure (it failed)."""
    sustained = p1.get("median_rate")
    return float(sustained) / 2 if sustained else fallback


def seconds_for(rate: float, sustained: float | None, planned: float) -> float:
    """How long a repetition sends at `rate`: `planned`, unless the write side showed it
    cannot sustain `rate` (only when P1 has no figure and the fallback rate is used):
    then ~8 s of what it sustains, so the backlog does not spill into the next measures."""
    if sustained is not None and sustained < rate:
        return min(planned, max(0.2, sustained * 8 / rate))
    return planned


def load_rate(b: Bench) -> float:
    return rate_for(b.details.get("P1", {}), b.plan.p2_rate)


def load_seconds(b: Bench) -> float:
    sustained = b.details.get("P1", {}).get("median_rate")
    return seconds_for(load_rate(b), None if sustained is None else float(sustained),
                       b.plan.p2_seconds)


async def run(b: Bench) -> None:
    plan = b.plan
    rate, seconds = load_rate(b), load_seconds(b)
    b.say(f"P2 {plan.reps} x {seconds:.1f} s at {rate:.0f} cmd/s (half of P1's rate)")
    http = b.http(32)
    p50: list[float] = []
    p99: list[float] = []
    errors: Counter[str] = Counter()
    counts: list[int] = []
    lag99: list[float] = []
    to_result: list[float] = []
    to_visible: list[float] = []
    try:
        for rep in range(plan.reps):
            lags: list[float] = []
            halves: list[tuple[float, float]] = []
            latencies, failed = await paced(b, http, rate, seconds, lags, halves)
            errors.update(failed)
            lag99.append(percentile(lags, 99) * 1000)
            if halves:
                to_result.append(percentile([h[0] for h in halves], 50) * 1000)
                to_visible.append(percentile([h[1] for h in halves], 50) * 1000)
            counts.append(len(latencies))
            p50.append(percentile(latencies, 50) * 1000)
            p99.append(percentile(latencies, 99) * 1000)
            b.say(f"P2 rep {rep + 1}: p50 {p50[-1]:.1f} ms, p99 {p99[-1]:.1f} ms "
                  f"({len(latencies)} timed from schedule, {sum(failed.values())} of them "
                  f"rejected, failed or censored; our own send lag p99 {lag99[-1]:.1f} ms; "
                  f"p50 due -> result {to_result[-1] if halves else float('nan'):.1f} ms, "
                  f"result -> visible {to_visible[-1] if halves else float('nan'):.1f} ms)")
    finally:
        await http.close()
    raw50: list[float] = []
    raw99: list[float] = []
    for _ in range(plan.reps):
        trips = await kafka_round_trip(b, rate, min(plan.p2_seconds, 3.0))
        raw50.append(percentile(trips, 50) * 1000)
        raw99.append(percentile(trips, 99) * 1000)
    note = (f"{rate:.0f} cmd/s (half of P1's) open loop for {seconds:.1f} s, "
            "1/3 each of the three commands, every command timed from its due time")
    if errors:
        note += "; " + ", ".join(f"{n} {what}" for what, n in errors.items())
    b.rows.append(Row("P2", "publish -> visible, p50", "ms", p50, raw50,
                      "Kafka round trip p50", "lower", None, note))
    b.rows.append(Row("P2", "publish -> visible, p99", "ms", p99, raw99,
                      "Kafka round trip p99", "lower", Target("value", "<=", 50.0), note))
    details: dict[str, Any] = {"timed": counts, "errors": dict(errors), "seconds": seconds,
                               "rate": rate, "send_lag_p99_ms": lag99,
                               "due_to_result_p50_ms": to_result,
                               "result_to_visible_p50_ms": to_visible}
    b.details["P2"] = details
