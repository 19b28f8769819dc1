"""P8: an access change → its `LocalListChanged` on `access.local-lists`, p99 at P2's load,
beside P2 measured in the same phase at the same load; and a share window's boundary →
the list version it makes, on the topic.

Load: open loop at P2's rate for P2's seconds (`p2_freshness.load_seconds`). Every command
is an `UpdateUserAccess` by one of P1's owners sharing their charger with a "driver" who
has a charge key, so each adds one key to one list: one version, one record. A change is
seen when the follower (`bench.list_topic`) reads the first record adding that driver's
token to that charger's list; each (charger, driver) pair is used once in the run, so the
match is exact whatever the order. The baseline is P2 itself (`p2_freshness.paced`: its
three commands → visible through the query API with `min_position`), at the same rate in
the same phase, the two alternating which goes first from one repetition to the next.
Goal (PERFORMANCE.md): p99 <= 2x P2's.

Boundaries: before each repetition, BOUNDARIES shares whose `valid_from` falls inside the
P8 load (spread over its middle half) are granted; not yet in effect, they make no version
then. Each is seen when the record adding its driver's token to its charger arrives: the
delay from the nominal `valid_from` (wall clock) is the scheduler's wake-up, the boundary
event's append, the projection, the publisher and the broker, at load. Goal: <= 1 s.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.core import Bench
from bench.kafka import register_user
from bench.list_topic import ListFollower, Seen
from bench.p2_freshness import load_rate, load_seconds, paced
from bench.p5_email import wait_for_mail
from bench.stats import Row, Target, median, percentile, ratio
from services.common.timeouts import wait_for

GOAL = 2.0
"""P8's p99 may be this many times P2's (PERFORMANCE.md)."""
BOUNDARY_GOAL_MS = 1000.0
RESULT_WAIT = 30.0
"""A change without its record by then counts at the bound (censored, as in P2)."""
BOUNDARIES = 20
"""Share boundaries falling inside each repetition's load."""
SETUP_MARGIN = 2.0
"""Seconds between granting a repetition's boundary shares and its load starting."""
SHARES_PER_DRIVER = 5
"""Few, as most users have: UpdateUserAccess loads every charger its user has a share on
(to revoke the unlisted ones), so a driver with hundreds of shares would make the write
side, not the lists, the measure."""
MAIL_QUIET = 2.0
"""After the phase: no new e-mail for this long means the drivers' e-mails are out."""

Command = tuple[str, dict[str, Any], uuid.UUID, uuid.UUID]


@dataclass(frozen=True)
class Slot:
    """One share to grant: a P1 owner's charger and a driver with a key."""

    owner: uuid.UUID
    charger: uuid.UUID
    driver: uuid.UUID
    token: str

    def share(self, **window: datetime) -> Command:
        data: dict[str, Any] = {"user_id": self.driver, "charger_ids": [str(self.charger)],
                                "level": "charge",
                                **{name: at.isoformat() for name, at in window.items()}}
        return "UpdateUserAccess", data, self.owner, self.driver


def slots(pairs: list[tuple[uuid.UUID, uuid.UUID]],
          drivers: list[tuple[uuid.UUID, str]]) -> Iterator[Slot]:
    """SHARES_PER_DRIVER shares per driver, on consecutive chargers, so no (charger,
    driver) pair comes twice and no driver gathers many shares."""
    for d, (driver, token) in enumerate(drivers):
        for j in range(SHARES_PER_DRIVER):
            owner, charger = pairs[(d * SHARES_PER_DRIVER + j) % len(pairs)]
            yield Slot(owner, charger, driver, token)


async def enrol_drivers(b: Bench, count: int) -> list[tuple[uuid.UUID, str]]:
    """`count` users with one charge key each: who the owners share with."""
    tag = uuid.uuid4().hex[:6].upper()
    drivers = [(uuid.uuid4(), f"P8{tag}D{i:06d}") for i in range(count)]
    users: list[Command] = [register_user(user) for user, _ in drivers]
    keys: list[Command] = [("AddChargeKey", {"key_id": uuid.uuid4(), "user_id": user,
                                             "id_token": token}, user, user)
                           for user, token in drivers]
    for commands in (users, keys):
        outcomes = await asyncio.gather(*(b.commands.run(*c, within=180) for c in commands))
        refused = [o.result for o in outcomes if not o.accepted]
        if refused:
            raise RuntimeError(f"enrolling drivers: {len(refused)} refused, e.g. {refused[0]}")
    return drivers


async def _change(b: Bench, follower: ListFollower, slot: Slot,
                  errors: Counter[str]) -> float | None:
    """Command sent → its record read [s]; None when it was refused or failed."""
    seen = follower.expect(slot.charger, slot.token)
    sent_at = time.monotonic()
    try:
        outcome = await b.commands.run(*slot.share(), within=RESULT_WAIT)
    except TimeoutError:
        errors["no result in time (counted at the bound)"] += 1
        seen.cancel()
        return time.monotonic() - sent_at
    except Exception as error:
        errors[f"error {type(error).__name__}"] += 1
        seen.cancel()
        return None
    if not outcome.accepted:
        errors[f"rejected {outcome.result.get('reason')}"] += 1
        seen.cancel()
        return None
    try:
        at = await wait_for(seen, max(0.1, RESULT_WAIT - outcome.latency))
    except TimeoutError:
        errors["no LocalListChanged in time (counted at the bound)"] += 1
        return time.monotonic() - outcome.sent_at
    return at.monotonic - outcome.sent_at


async def changes(b: Bench, follower: ListFollower, source: Iterator[Slot], rate: float,
                  seconds: float) -> tuple[list[float], Counter[str]]:
    errors: Counter[str] = Counter()
    tasks = []
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_change(b, follower, next(source), errors)))
    results = await asyncio.gather(*tasks)
    return [r for r in results if r is not None], errors


@dataclass
class Boundary:
    nominal: float
    """`valid_from` as a wall-clock timestamp."""
    seen: asyncio.Future[Seen]


async def grant_boundaries(b: Bench, follower: ListFollower, source: Iterator[Slot],
                           load_starts: float, seconds: float,
                           errors: Counter[str]) -> list[Boundary]:
    """Shares coming into effect in the middle half of the load starting at wall-clock
    `load_starts`, granted now (before they are in effect)."""
    boundaries: list[tuple[Slot, float]] = [
        (next(source), load_starts + seconds * (0.25 + 0.5 * j / BOUNDARIES))
        for j in range(BOUNDARIES)]
    waiting = [Boundary(nominal, follower.expect(slot.charger, slot.token))
               for slot, nominal in boundaries]
    outcomes = await asyncio.gather(*(
        b.commands.run(*slot.share(valid_from=_instant(nominal),
                                   valid_until=_instant(nominal) + timedelta(hours=1)),
                       within=RESULT_WAIT)
        for slot, nominal in boundaries), return_exceptions=True)
    kept = []
    for outcome, boundary in zip(outcomes, waiting, strict=True):
        if isinstance(outcome, BaseException):
            errors[f"boundary share {type(outcome).__name__} (dropped)"] += 1
        elif not outcome.accepted:
            errors[f"boundary share rejected {outcome.result.get('reason')}"] += 1
        elif time.time() >= boundary.nominal:
            errors["boundary share granted after its valid_from (dropped)"] += 1
        else:
            kept.append(boundary)
            continue
        boundary.seen.cancel()
    return kept


async def boundary_delays(boundaries: list[Boundary], errors: Counter[str]) -> list[float]:
    """Nominal boundary → record read [s], each waited for at most RESULT_WAIT past it."""
    delays = []
    for boundary in boundaries:
        left = boundary.nominal + RESULT_WAIT - time.time()
        try:
            seen = await wait_for(boundary.seen, max(0.1, left))
        except TimeoutError:
            errors["boundary without a version in time (counted at the bound)"] += 1
            delays.append(RESULT_WAIT)
            continue
        delays.append(seen.wall - boundary.nominal)
    return delays


def _last(values: list[float]) -> float:
    return values[-1] if values else math.nan


def _instant(wall: float) -> datetime:
    return datetime.fromtimestamp(round(wall, 3), UTC)


@dataclass
class Figures:
    p50: list[float]
    p99: list[float]

    def add(self, values: list[float]) -> None:
        """One repetition's percentiles [ms]; none for a repetition without values."""
        if not values:
            return
        self.p50.append(percentile(values, 50) * 1000)
        self.p99.append(percentile(values, 99) * 1000)


async def run(b: Bench) -> None:
    plan = b.plan
    rate, seconds = load_rate(b), load_seconds(b)
    per_rep = int(rate * seconds) + BOUNDARIES
    if not b.pairs:
        raise RuntimeError("P8 needs P1's owners and chargers")
    drivers = await enrol_drivers(b, math.ceil(per_rep * plan.reps / SHARES_PER_DRIVER))
    source = slots(b.pairs, drivers)
    b.say(f"P8 {plan.reps} x {seconds:.1f} s at {rate:.0f} cmd/s, shares of "
          f"{len(b.pairs):,} chargers with {len(drivers)} drivers, alternating with P2; "
          f"{BOUNDARIES} share boundaries inside each P8 load")
    follower = ListFollower(b.system.kafka, b.system.topics.local_lists)
    await follower.start()
    http = b.http(32)
    ours, theirs, bounds = Figures([], []), Figures([], []), Figures([], [])
    errors: Counter[str] = Counter()
    try:
        for rep in range(plan.reps):
            for kind in ("P8", "P2") if rep % 2 == 0 else ("P2", "P8"):
                if kind == "P2":
                    latencies, failed = await paced(b, http, rate, seconds)
                    errors.update({f"P2 {what}": n for what, n in failed.items()})
                    theirs.add(latencies)
                    continue
                starts = time.time() + SETUP_MARGIN
                boundaries = await grant_boundaries(b, follower, source, starts, seconds,
                                                    errors)
                await asyncio.sleep(max(0.0, starts - time.time()))
                latencies, failed = await changes(b, follower, source, rate, seconds)
                errors.update(failed)
                ours.add(latencies)
                bounds.add(await boundary_delays(boundaries, errors))
            b.say(f"P8 rep {rep + 1}: change -> LocalListChanged p99 {_last(ours.p99):.1f} ms; "
                  f"P2 p99 {_last(theirs.p99):.1f} ms; boundary -> version p99 "
                  f"{_last(bounds.p99):.0f} ms ({sum(errors.values())} failed or censored "
                  "so far)")
    finally:
        await http.close()
        await follower.stop()
    # The drivers' e-mails (one per share) must not spill into the next measures.
    await wait_for_mail(b, 2**62, b.plan.drain_timeout, stalled=MAIL_QUIET)
    vs_p2 = ratio(median(ours.p99), median(theirs.p99))
    b.say(f"P8 p99 / P2 p99: {vs_p2:.2f}x (goal <= {GOAL:g}x); boundary p99 "
          f"{median(bounds.p99):.0f} ms (goal <= {BOUNDARY_GOAL_MS:g} ms)")
    note = (f"{rate:.0f} cmd/s open loop for {seconds:.1f} s, each an UpdateUserAccess "
            "adding a key to a list; P2 alternating, same rate")
    if errors:
        note += "; " + ", ".join(f"{n} {what}" for what, n in errors.items())
    base = "P2 publish -> visible"
    b.rows.append(Row("P8", "access change -> LocalListChanged, p50", "ms", ours.p50,
                      theirs.p50, f"{base} p50, same phase", "lower", None, note))
    b.rows.append(Row("P8", "access change -> LocalListChanged, p99", "ms", ours.p99,
                      theirs.p99, f"{base} p99, same phase", "lower",
                      Target("ratio", "<=", GOAL, "P2"), note))
    b.rows.append(Row("P8", "window boundary -> LocalListChanged, p99", "ms", bounds.p99, [],
                      "", "lower", Target("value", "<=", BOUNDARY_GOAL_MS),
                      f"{BOUNDARIES} boundaries per repetition, inside the P8 load; "
                      f"p50 {median(bounds.p50):.0f} ms"))
    b.details["P8"] = {"seconds": seconds, "drivers": len(drivers), "chargers": len(b.pairs),
                       "records": follower.records, "errors": dict(errors),
                       "p50": ours.p50, "p99": ours.p99, "p2_p50": theirs.p50,
                       "p2_p99": theirs.p99, "boundary_p50": bounds.p50,
                       "boundary_p99": bounds.p99}
