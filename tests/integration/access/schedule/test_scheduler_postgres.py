"""The boundary scheduler against the real PostgreSQL store: two instances racing append
each boundary exactly once; one started late appends every missed boundary once, in
order, with its nominal time; the ending notice once (its holder sealed like any
personal data), none after the share changed; a start resumes from the share book and
folds the log when that cannot serve; the book's table keeps the rules of the book in
memory."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.access.eventlog.reader import EventLog, pooled
from services.access.executor import Executor
from services.access.handlers.context import Rules
from services.access.schedule.book import MemoryShareBook
from services.access.schedule.book_table import ShareBook
from services.access.schedule.log import ShareLog
from services.access.schedule.runner import BoundaryScheduler
from services.access.schedule.shares import Timetable
from services.access.store.application import AccessStore, open_store
from tests.schedules import WEEKEND
from tests.unit.access.scenario import SECRET, Scenario
from tests.unit.access.schedule.test_book import varied_history

pytestmark = pytest.mark.integration

NOTICE = timedelta(hours=24)
MARKS = ("ShareCameIntoEffect", "ShareWentOutOfEffect", "ShareEnding")


@pytest.fixture
def database(new_database: Any) -> str:
    url: str = new_database()
    return url


@pytest.fixture
def s(database: str) -> Iterator[Scenario]:
    scenario = Scenario()
    scenario.store = open_store(database)
    scenario.executor = Executor(scenario.store, Rules(SECRET, timedelta(days=7)),
                                 clock=lambda: scenario.now)
    yield scenario
    scenario.store.close()


@pytest.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(database, min_size=1, max_size=6) as pool:
        yield pool


@pytest.fixture
def stores(database: str) -> Iterator[list[AccessStore]]:
    """A store per scheduler instance, as each access service has its own."""
    made = [open_store(database, pool_size=2) for _ in range(2)]
    yield made
    for store in made:
        store.close()


def scheduler(s: Scenario, store: AccessStore, pool: asyncpg.Pool) -> BoundaryScheduler:
    return BoundaryScheduler(store, pooled(pool, ShareLog()), NOTICE, clock=lambda: s.now)


async def marks(pool: asyncpg.Pool) -> list[Any]:
    async with pool.acquire() as conn:
        events = await EventLog().read(conn, 0, 100_000)
    return [e.envelope for e in events if e.envelope.type in MARKS]


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


async def test_two_schedulers_racing_append_each_boundary_once(
        s: Scenario, pool: asyncpg.Pool, stores: list[AccessStore]) -> None:
    owner = s.user()
    chargers = [s.charger(owner) for _ in range(3)]
    guests = [s.user() for _ in range(8)]
    start = s.now + timedelta(minutes=5)
    for guest in guests:
        s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=chargers, valid_from=start,
             valid_until=start + timedelta(minutes=5))
    one, two = (scheduler(s, store, pool) for store in stores)
    for now in (start, start + timedelta(minutes=5), start + timedelta(minutes=6)):
        s.now = now
        await asyncio.gather(one.tick(), two.tick())
    await asyncio.gather(one.tick(), two.tick())

    found = await marks(pool)
    keys = [(e.subject, e.data["user_id"], e.type, e.data["at"]) for e in found]
    assert len(keys) == len(set(keys)) == len(chargers) * len(guests) * 2
    assert one.boundaries + two.boundaries == len(keys)
    assert {e.type for e in found} == {"ShareCameIntoEffect", "ShareWentOutOfEffect"}
    assert all(e.data["ended"] for e in found if e.type == "ShareWentOutOfEffect")
    assert one.due_shares == two.due_shares == 0


async def test_a_scheduler_started_late_appends_what_it_missed_once_in_order(
        s: Scenario, pool: asyncpg.Pool, stores: list[AccessStore]) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    s.now = datetime(2025, 6, 6, 12, tzinfo=UTC)  # a Friday
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger], schedule=WEEKEND,
         valid_until=datetime(2025, 6, 15, 12, tzinfo=UTC))
    s.now = datetime(2025, 6, 9, 12, tzinfo=UTC)  # Monday: down all weekend
    late = scheduler(s, stores[0], pool)
    await late.tick()
    await late.tick()
    restarted = scheduler(s, stores[1], pool)  # another start: nothing again
    await restarted.tick()

    found = await marks(pool)
    assert [(e.type, e.data["at"]) for e in found] == [
        ("ShareCameIntoEffect", "2025-06-07T06:00:00Z"),
        ("ShareWentOutOfEffect", "2025-06-07T18:00:00Z"),
        ("ShareCameIntoEffect", "2025-06-08T06:00:00Z"),
        ("ShareWentOutOfEffect", "2025-06-08T18:00:00Z"),
    ]
    assert [e.sequence for e in found] == sorted(e.sequence for e in found)
    assert all(e.time == s.now and e.actor == "scheduler" for e in found)
    assert found[-1].data["ended"] is False  # one more weekend before the end
    assert restarted.timetable.next_due() == datetime(2025, 6, 14, 6, tzinfo=UTC)  # Saturday
    assert restarted.timetable.shares[(charger, guest)].notice_at(NOTICE) == datetime(
        2025, 6, 14, 12, tzinfo=UTC)


async def test_the_notice_once_sealed_and_none_after_the_share_changed(
        s: Scenario, pool: asyncpg.Pool, stores: list[AccessStore]) -> None:
    owner, kept, changed = s.user(), s.user(name="Kari Nordmann"), s.user()
    charger = s.charger(owner)
    end = s.now + timedelta(days=3)
    for guest in (kept, changed):
        s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger], valid_until=end)
    one, two = (scheduler(s, store, pool) for store in stores)
    await asyncio.gather(one.tick(), two.tick())
    s.ok("UpdateUserAccess", owner, user_id=changed, charger_ids=[charger],
         valid_until=end + timedelta(days=30))  # changed: its own notice, later
    s.now = end - NOTICE + timedelta(milliseconds=200)
    await asyncio.gather(one.tick(), two.tick())
    await asyncio.gather(one.tick(), two.tick())

    [notice] = await marks(pool)
    assert notice.type == "ShareEnding"
    assert notice.data["user_id"] == str(kept)
    assert (notice.data["user"]["name"], notice.data["user"]["email"]) == (
        "Kari Nordmann", s.emails[kept])
    assert notice.data["at"] == iso(end - NOTICE)
    assert notice.data["valid_until"] == iso(end)
    assert one.notices + two.notices == 1
    async with pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT state FROM chargeraccess_events WHERE topic LIKE '%Charger.ShareEnding'")
    assert s.emails[kept].encode() not in stored
    assert b"Kari Nordmann" not in stored
    assert b"pii:v1:" in stored


async def test_a_share_beyond_the_horizon_comes_due_from_the_book(
        s: Scenario, pool: asyncpg.Pool, stores: list[AccessStore]) -> None:
    owner, soon, later = s.user(), s.user(), s.user()
    charger = s.charger(owner)
    began = s.now
    s.ok("UpdateUserAccess", owner, user_id=soon, charger_ids=[charger],
         valid_from=began + timedelta(minutes=30))
    s.ok("UpdateUserAccess", owner, user_id=later, charger_ids=[charger],
         valid_from=began + timedelta(hours=3))
    book = ShareBook(pool)
    await book.setup()
    turn = BoundaryScheduler(stores[0], pooled(pool, ShareLog()), NOTICE, clock=lambda: s.now,
                             horizon=timedelta(hours=2), batch_size=2, book=book)
    await turn.tick()
    assert turn.due_shares == 1  # the later one is past the horizon
    came = []
    for minutes in range(0, 4 * 60, 15):
        s.now = began + timedelta(minutes=minutes)
        await turn.tick()
        came = [(e.data["user_id"], e.data["at"]) for e in await marks(pool)]
    assert came == [(str(soon), iso(began + timedelta(minutes=30))),
                    (str(later), iso(began + timedelta(hours=3)))]
    assert turn.refills >= 2


async def head_of(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval("SELECT max(notification_id) FROM chargeraccess_events"))


async def test_the_scheduler_resumes_from_the_logs_head_not_from_its_last_share_event(
        s: Scenario, pool: asyncpg.Pool) -> None:
    """A tail of other events (here registrations) is read once: the next turn starts
    after it, so a turn's read does not grow with the log between shares."""
    owner = s.user()
    s.share(owner, s.user(), [s.charger(owner)], "charge")
    async with pool.acquire() as conn:
        last_share = (await ShareLog().read(conn, 0, 100))[-1].position
    for _ in range(5):
        s.user()
    head = await head_of(pool)
    assert head > last_share
    turn = scheduler(s, s.store, pool)
    assert await turn.catch_up() == head
    assert turn.timetable.position == head
    async with pool.acquire() as conn:
        again = await ShareLog().read(conn, head, 100)
    assert (list(again), again.reached) == ([], head)


async def test_a_share_read_cut_short_by_its_limit_resumes_after_its_last_event(
        s: Scenario, pool: asyncpg.Pool) -> None:
    owner = s.user()
    charger = s.charger(owner)
    for _ in range(3):
        s.share(owner, s.user(), [charger], "charge")
    s.user()
    async with pool.acquire() as conn:
        first = await ShareLog().read(conn, 0, 2)
        rest = await ShareLog().read(conn, first.reached, 100)
        everything = await ShareLog().read(conn, 0, 100)
    assert len(first) == 2
    assert first.reached == first[-1].position
    assert [e.position for e in (*first, *rest)] == [e.position for e in everything]
    assert rest.reached == everything.reached == await head_of(pool)


HORIZON = timedelta(days=2)


async def test_a_start_resumes_from_the_book_and_reads_only_the_log_after_it(
        s: Scenario, pool: asyncpg.Pool, stores: list[AccessStore]) -> None:
    owner = s.user()
    charger = s.charger(owner)
    guests = [s.user() for _ in range(4)]
    for n, guest in enumerate(guests):
        s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger],
             valid_from=s.now + timedelta(hours=n + 1), valid_until=s.now + timedelta(days=9))
    far = s.user()  # due after the horizon: in the book, not in the timetable
    s.ok("UpdateUserAccess", owner, user_id=far, charger_ids=[charger],
         valid_from=s.now + timedelta(days=3), valid_until=s.now + timedelta(days=9))
    book = ShareBook(pool)
    await book.setup()
    reads: list[int] = []
    shares = pooled(pool, ShareLog())

    async def read_log(after: int, limit: int) -> Any:
        reads.append(after)
        return await shares(after, limit)

    def started(store: AccessStore) -> BoundaryScheduler:
        return BoundaryScheduler(store, read_log, NOTICE, clock=lambda: s.now,
                                 horizon=HORIZON, book=book)

    first = started(stores[0])
    await first.begin()
    assert first.resumed_at is None  # nothing written yet: the log from the start
    await first.tick()
    await first.write_book()
    written_at = first.timetable.position
    assert set(first.timetable.shares) == {(charger, g) for g in guests}

    late_guest = s.user()  # a share the book does not know
    s.ok("UpdateUserAccess", owner, user_id=late_guest, charger_ids=[charger],
         valid_from=s.now + timedelta(minutes=30), valid_until=s.now + timedelta(days=9))
    again = started(stores[1])
    reads.clear()
    await again.begin()
    assert again.resumed_at == written_at
    assert again.timetable.shares == first.timetable.shares
    await again.tick()
    assert reads[0] == written_at  # folded on from the write, not from the start
    assert set(again.timetable.shares) == {(charger, g) for g in [*guests, late_guest]}

    s.now += timedelta(hours=1)  # the late share and the first guest's come into effect
    await again.tick()
    await again.tick()
    came = [e.data["user_id"] for e in await marks(pool) if e.type == "ShareCameIntoEffect"]
    assert sorted(came) == sorted([str(late_guest), str(guests[0])])

    s.now += timedelta(days=2)  # past half the horizon: the far share comes from the book
    reads.clear()
    await again.tick()
    assert again.refills == 1
    assert (charger, far) in again.timetable.shares
    assert 0 not in reads


async def test_a_start_folds_the_log_when_the_book_cannot_serve(
        s: Scenario, pool: asyncpg.Pool, stores: list[AccessStore],
        caplog: pytest.LogCaptureFixture) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger],
         valid_from=s.now + timedelta(hours=1), valid_until=s.now + timedelta(days=9))
    book = ShareBook(pool)
    await book.setup()
    writer = BoundaryScheduler(stores[0], pooled(pool, ShareLog()), NOTICE, clock=lambda: s.now,
                               horizon=HORIZON, book=book)
    await writer.begin()
    await writer.tick()
    await writer.write_book()
    assert await book.resume(NOTICE, s.now + HORIZON) is not None
    assert await book.resume(NOTICE * 2, s.now + HORIZON) is None  # another notice: emptied
    # Said as a warning naming both notices and the setting: instances that disagree
    # empty each other's book at every start.
    hours = NOTICE.total_seconds() / 3600
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(f"{hours:g} h" in m and f"{2 * hours:g} h" in m
               and "SHARE_ENDING_NOTICE_HOURS" in m for m in warned)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM schedule_shares") == 0
    assert await book.resume(NOTICE, s.now + HORIZON) is None
    await writer.write_book()  # a book ahead of the log (restored from an older backup)
    await book.write(writer.timetable.position + 1_000, NOTICE, {})
    assert await book.resume(NOTICE, s.now + HORIZON) is None
    fresh = BoundaryScheduler(stores[1], pooled(pool, ShareLog()), NOTICE, clock=lambda: s.now,
                              horizon=HORIZON, book=book)
    await fresh.begin()
    assert fresh.resumed_at is None
    await fresh.tick()
    assert set(fresh.timetable.shares) == {(charger, guest)}


async def test_the_books_table_keeps_the_rules_of_the_book_in_memory(
        s: Scenario, pool: asyncpg.Pool) -> None:
    """The same writes (a varied history cut at random positions, horizons short enough
    that its marks reach shares let go, older writes after newer ones) to the table and to
    `MemoryShareBook`: the same shares due, and the same timetable resumed."""
    rng = random.Random(5)
    began = s.now
    varied_history(s, rng)
    async with pool.acquire() as conn:
        events = list(await ShareLog().read(conn, 0, 100_000))
    table, memory = ShareBook(pool, "contract"), MemoryShareBook()
    await table.setup()
    written = []
    for n in range(6):
        cuts = sorted(rng.sample(range(len(events) + 1), 3))
        folding = Timetable(NOTICE, began + timedelta(hours=rng.choice([6, 30])), notes=True)
        for start, cut in zip([0, *cuts], cuts, strict=False):
            folding.fold(events[start:cut])
            changes = dict(folding.take_changes())
            written.append((folding.position, changes))
            if n % 2:  # an instance behind writes after one ahead
                position, older = rng.choice(written)
                await table.write(position, NOTICE, older)
                await memory.write(position, NOTICE, older)
            await table.write(folding.position, NOTICE, changes)
            await memory.write(folding.position, NOTICE, changes)
        for until, limit in itertools.product(
                (began, began + timedelta(days=1), began + timedelta(days=30)),
                (None, 1, 3, 8)):
            from_table = await table.due_by(until, limit)
            from_memory = await memory.due_by(until, limit)
            assert sorted(from_table) == sorted(from_memory)
            assert from_table.stale == from_memory.stale
            assert from_table.until == from_memory.until
    due = await memory.due_by(began + timedelta(days=30))
    assert due.stale  # the history makes some
    assert len(due) - len(due.stale) > 8  # and more rows than the largest limit
    cut = await memory.due_by(began + timedelta(days=30), 3)
    assert cut.until < began + timedelta(days=30)
    assert due.stale <= cut.stale  # every stale row is read, not counted
    until = began + timedelta(days=2)
    for capacity in (None, 2):
        resumed_table, resumed_memory = (await table.resume(NOTICE, until, capacity),
                                         await memory.resume(NOTICE, until, capacity))
        assert resumed_table is not None
        assert resumed_memory is not None
        assert resumed_table.position == resumed_memory.position
        assert resumed_table.until == resumed_memory.until
        assert resumed_table.shares == resumed_memory.shares


async def test_only_the_services_book_drops_the_timetable_it_superseded(
        pool: asyncpg.Pool) -> None:
    """A book of another name (a bench's copy) leaves the service's tables alone."""
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE schedule_timetables (position bigint)")
        saved = "SELECT to_regclass('schedule_timetables') IS NOT NULL"
        await ShareBook(pool, "bench_copy").setup()
        assert await conn.fetchval(saved)
        await ShareBook(pool).setup()
        assert not await conn.fetchval(saved)
