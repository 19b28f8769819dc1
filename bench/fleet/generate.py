"""`seed_fleet`: a fleet-scale history, written by the real write side, from a seed.

The seed and size fix a list of fleets up front: the first as big as half the budget
allows (up to 5 000 chargers), the others drawn between 50 and 5 000, until their
estimated events reach `size`. Each fleet's story has its own random numbers, names and
time slot, so it is the same whichever process writes it and whatever was written
before: fleets may be written side by side (`workers`), each commit chaining onto the
last under the store's table lock. The main story ends ten days before `ends_at`; then
every fleet's owner sends one more invitation, still pending at `ends_at`. Everything
else unanswered has expired by then.
"""

from __future__ import annotations

import math
import multiprocessing
import random
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from bench.fleet import fleets
from bench.fleet.tally import BigFleet, FleetSummary, Tally
from bench.fleet.world import World
from bench.fleet.writer import STEP, TOKEN_SECRET, Writer
from services.access.store.application import AccessStore, open_store

EVENTS_PER_CHARGER = 13
"""What one charger brings with its drivers, shares, keys and invitations (measured):
how the budget is split into fleets."""
EVENTS_PER_COMMAND = 4.6
"""What a command of the mix writes on average (measured): sizes the time slots."""
QUIET_DAYS = 10
"""The main story ends this long before `ends_at` (longer than an invitation lives)."""
BATCH_SIZE = 500
KEEP_TALLY_UP_TO = 1_000_000
"""Above this size the summary keeps counts only, not every share (memory)."""

Progress = Callable[[int], None]


class StoreNotEmptyError(RuntimeError):
    """The store already holds events: a history is only generated into an empty one."""


@dataclass(frozen=True)
class FleetPlan:
    index: int
    chargers: int
    start: datetime
    """The start of the fleet's time slot (slots never overlap)."""


@dataclass
class FleetOutcome:
    """What writing one fleet did, sent back from the process that wrote it."""

    plan: FleetPlan
    events: int
    commands: int
    tally: Tally
    owner_id: UUID
    charger_id: UUID
    big: BigFleet | None


def today() -> datetime:
    """Midnight UTC today: the default end, so the pending invitations are live."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def plan_fleets(seed: int, size: int, ends_at: datetime) -> list[FleetPlan]:
    rng = random.Random(f"{seed}:fleets")
    counts = [min(fleets.MAX_CHARGERS, max(fleets.MIN_CHARGERS, size // EVENTS_PER_CHARGER // 2))]
    # Another fleet while the budget left is over half the smallest fleet's.
    while size - sum(counts) * EVENTS_PER_CHARGER > fleets.MIN_CHARGERS * EVENTS_PER_CHARGER // 2:
        left = max(fleets.MIN_CHARGERS, size // EVENTS_PER_CHARGER - sum(counts))
        drawn = math.exp(rng.uniform(math.log(fleets.MIN_CHARGERS),
                                     math.log(fleets.MAX_CHARGERS)))
        counts.append(min(int(drawn), left))
    # A slot half again as long as the fleet's estimated commands take.
    slots = [STEP * int(1.5 * n * EVENTS_PER_CHARGER / EVENTS_PER_COMMAND) for n in counts]
    start = ends_at - timedelta(days=QUIET_DAYS) - sum(slots, timedelta())
    plans = []
    for index, (chargers, slot) in enumerate(zip(counts, slots, strict=True)):
        plans.append(FleetPlan(index, chargers, start))
        start += slot
    return plans


def seed_fleet(
    database_url: str, size: int, seed: int = 1, *, ends_at: datetime | None = None,
    batch_size: int = BATCH_SIZE, workers: int = 1, keep_tally: bool | None = None,
    progress: Progress | None = None,
) -> FleetSummary:
    """Write a history of about `size` events into the (empty) store at `database_url`.

    The same `seed`, `size` and `ends_at` give the same history: the same aggregates,
    versions and event types (ciphertexts and token salts are random, as in the
    service); with one worker also in the same log order. `batch_size` changes only how
    many commands share a commit. The summary's `tally` (every share, key, invitation)
    is kept up to `KEEP_TALLY_UP_TO` events unless `keep_tally` says otherwise."""
    ends = ends_at or today()
    keep = size <= KEEP_TALLY_UP_TO if keep_tally is None else keep_tally
    plans = plan_fleets(seed, size, ends)
    store = open_store(database_url, pool_size=2)
    try:
        if store.recorder.max_notification_id():
            raise StoreNotEmptyError(f"{database_url} already holds events")
        began = time.perf_counter()
        outcomes = _write(store, database_url, seed, ends, plans, batch_size, workers, progress)
        total = Tally()
        for outcome in outcomes:
            total.absorb(outcome.tally, details=keep)
        writer = Writer(store, batch_size)
        story = World(writer, total, ends, len(plans), random.Random(f"{seed}:pending"))
        writer.begin(f"fleet:{seed}:pending", ends - timedelta(days=2), ends - timedelta(days=1))
        pending = [fleets.pending_invitation(story, o.owner_id, o.charger_id) for o in outcomes]
        writer.settle()
        seconds = time.perf_counter() - began
    finally:
        store.close()
    big = outcomes[0].big
    assert big is not None
    busiest_charger, busiest_user = total.most_shared()
    return FleetSummary(
        database_url=database_url, seed=seed, size=size,
        events=writer.events + sum(o.events for o in outcomes),
        commands=writer.commands + sum(o.commands for o in outcomes), seconds=seconds,
        ends_at=ends, token_secret=TOKEN_SECRET, big_fleet=big,
        busiest_charger=busiest_charger, busiest_user=busiest_user,
        pending_invitations=pending, counts=total.counts(), tally=total if keep else None)


def _write(
    store: AccessStore, database_url: str, seed: int, ends: datetime, plans: list[FleetPlan],
    batch_size: int, workers: int, progress: Progress | None,
) -> list[FleetOutcome]:
    outcomes: list[FleetOutcome] = []
    written = 0

    def done(outcome: FleetOutcome) -> None:
        nonlocal written
        outcomes.append(outcome)
        written += outcome.events
        if progress is not None:
            progress(written)

    if workers <= 1:
        writer = Writer(store, batch_size)
        for plan in plans:
            done(write_fleet(writer, seed, ends, plan))
        return outcomes
    # Processes of their own (spawned: no connection pool crosses a fork), one store each.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=spawn, initializer=_open_worker,
                             initargs=(database_url, batch_size)) as pool:
        for outcome in pool.map(_write_in_worker, [(seed, ends, p) for p in plans]):
            done(outcome)
    return outcomes


def write_fleet(writer: Writer, seed: int, ends: datetime, plan: FleetPlan) -> FleetOutcome:
    """One fleet's whole story, committed."""
    events, commands = writer.events, writer.commands
    world = World(writer, Tally(), ends, plan.index,
                         random.Random(f"{seed}:fleet:{plan.index}"))
    writer.begin(f"fleet:{seed}:{plan.index}", plan.start,
                 ends - timedelta(days=QUIET_DAYS))
    fleet = fleets.build_fleet(world, plan.chargers)
    fleets.share(world, fleet)
    fleets.family(world, fleet)
    fleets.keys(world, fleet)
    fleets.invite(world, fleet)
    writer.settle()  # the answers to its invitations
    fleets.change_hands(world, fleet)
    writer.settle()
    writer.let_go()
    big = BigFleet(fleet.group_id, fleet.owner.user_id, [a.user_id for a in fleet.admins],
                   list(fleet.chargers), [d.user_id for d in fleet.drivers])
    return FleetOutcome(plan, writer.events - events, writer.commands - commands, world.tally,
                        fleet.owner.user_id, fleet.chargers[0],
                        big if plan.index == 0 else None)


_worker: Writer | None = None


def _open_worker(database_url: str, batch_size: int) -> None:
    global _worker  # noqa: PLW0603 - one store per worker process, for all its fleets
    _worker = Writer(open_store(database_url, pool_size=2), batch_size)


def _write_in_worker(job: tuple[int, datetime, FleetPlan]) -> FleetOutcome:
    assert _worker is not None
    return write_fleet(_worker, *job)
