"""P2: freshness — publish a command → its effect visible through the query API, at a
steady 500 commands/s (open loop: commands go out on schedule, whatever the answers).

Each command's result carries its position; the query that proves the effect is asked
with `min_position` = that position, so the time until it answers 200 is the time until
the read model showed the change. The raw baseline is a Kafka produce → consume round
trip at the same rate on a topic of our own (the floor under any Kafka command path).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.core import Bench
from bench.http import Pool
from bench.kafka import invite_user, register_charger, register_user
from bench.stats import Row, Target, percentile
from services.common.kafka import ensure_topics

RESULT_WAIT = 30.0
"""A command without a result by then counts as visible at the bound (a censored,
optimistic figure): when the system cannot sustain the rate, p99 shows it anyway."""


async def _one(b: Bench, http: Pool, i: int, errors: Counter[str]) -> float | None:
    try:
        return await _visible(b, http, i, errors)
    except Exception as error:
        errors[f"error {type(error).__name__}"] += 1
        return None


async def _visible(b: Bench, http: Pool, i: int, errors: Counter[str]) -> float | None:
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
    sent_at = time.monotonic()
    try:
        outcome = await b.commands.run(*command, within=RESULT_WAIT)
    except TimeoutError:
        errors["no result in time (counted at the bound)"] += 1
        return time.monotonic() - sent_at
    if not outcome.accepted:
        errors[f"rejected {outcome.result.get('reason')}"] += 1
        return None
    if kind == 2:
        b.invites_accepted += 1
    sep = "&" if "?" in path else "?"
    response = await http.get(f"{path}{sep}min_position={outcome.result['position']}")
    visible = time.monotonic()
    if response.status == 503:
        errors["503 stale (counted at the bound)"] += 1
        return visible - outcome.sent_at
    if response.status != 200:
        errors[f"http {response.status}"] += 1
        return None
    if kind == 1 and not json.loads(response.body).get("allowed"):
        errors["not allowed"] += 1
        return None
    return visible - outcome.sent_at


async def paced(b: Bench, http: Pool, rate: float, seconds: float) -> tuple[list[float],
                                                                             Counter[str]]:
    errors: Counter[str] = Counter()
    tasks = []
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(b, http, i, errors)))
    results = await asyncio.gather(*tasks)
    return [r for r in results if r is not None], errors


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
            await asyncio.wait_for(follower, 30)
        follower.cancel()
    finally:
        await consumer.stop()
        await producer.stop()
    return latencies


def load_seconds(b: Bench) -> float:
    """How long a repetition sends at `p2_rate`. At a rate the write side cannot sustain,
    the backlog of each repetition would spill into the next measures: then send only
    ~8 s of what P1 showed it sustains."""
    plan = b.plan
    sustained = float(b.details.get("P1", {}).get("median_rate", plan.p2_rate))
    if sustained < plan.p2_rate:
        return min(plan.p2_seconds, max(0.2, sustained * 8 / plan.p2_rate))
    return plan.p2_seconds


async def run(b: Bench) -> None:
    plan = b.plan
    seconds = load_seconds(b)
    b.say(f"P2 {plan.reps} x {seconds:.1f} s at {plan.p2_rate:.0f} cmd/s")
    http = b.http(32)
    p50: list[float] = []
    p99: list[float] = []
    errors: Counter[str] = Counter()
    counts: list[int] = []
    try:
        for rep in range(plan.reps):
            latencies, failed = await paced(b, http, plan.p2_rate, seconds)
            errors.update(failed)
            counts.append(len(latencies))
            p50.append(percentile(latencies, 50) * 1000)
            p99.append(percentile(latencies, 99) * 1000)
            b.say(f"P2 rep {rep + 1}: p50 {p50[-1]:.1f} ms, p99 {p99[-1]:.1f} ms "
                  f"({len(latencies)} timed, {sum(failed.values())} failed or censored)")
    finally:
        await http.close()
    raw50: list[float] = []
    raw99: list[float] = []
    for _ in range(plan.reps):
        trips = await kafka_round_trip(b, plan.p2_rate, min(plan.p2_seconds, 3.0))
        raw50.append(percentile(trips, 50) * 1000)
        raw99.append(percentile(trips, 99) * 1000)
    note = (f"{plan.p2_rate:.0f} cmd/s open loop for {seconds:.1f} s, "
            "1/3 each of the three commands")
    if errors:
        note += "; " + ", ".join(f"{n} {what}" for what, n in errors.items())
    b.rows.append(Row("P2", "publish -> visible, p50", "ms", p50, raw50,
                      "Kafka round trip p50", "lower", None, note))
    b.rows.append(Row("P2", "publish -> visible, p99", "ms", p99, raw99,
                      "Kafka round trip p99", "lower", Target("value", "<=", 50.0), note))
    details: dict[str, Any] = {"visible": counts, "errors": dict(errors), "seconds": seconds}
    b.details["P2"] = details
