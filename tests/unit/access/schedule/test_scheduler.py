"""The scheduler's turn over an in-memory write side: it appends each due boundary and
the ending notice once, with their nominal times, through the Charger aggregate; after
downtime every missed one, in order; racing another scheduler, nothing twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from charger_access_client.envelope import EventEnvelope
from services.access.schedule import runner
from services.access.schedule.appending import ACTOR, append_all_due, append_due
from services.access.schedule.runner import BoundaryScheduler
from tests.schedules import WEEKEND
from tests.unit.access.scenario import Scenario
from tests.unit.access.schedule.helpers import share_log, update

NOTICE = timedelta(hours=24)
MARKS = ("ShareCameIntoEffect", "ShareWentOutOfEffect", "ShareEnding")


@pytest.fixture
def s() -> Scenario:
    return Scenario()


def scheduler(s: Scenario, **options: float) -> BoundaryScheduler:
    return BoundaryScheduler(s.store, share_log(s), NOTICE, clock=lambda: s.now,
                             **options)  # type: ignore[arg-type]


def marks(s: Scenario) -> list[EventEnvelope]:
    return [e for e in s.published_since(0) if e.type in MARKS]


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


async def test_a_turn_appends_what_is_due_with_its_nominal_time(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    start, end = s.now + timedelta(hours=1), s.now + timedelta(hours=3)
    update(s, owner, guest, [charger], valid_from=start, valid_until=end)
    turn = scheduler(s)
    assert await turn.tick() == 0
    s.now = start + timedelta(milliseconds=300)
    assert await turn.tick() == 1
    [came] = marks(s)
    assert (came.type, came.data["at"], came.time) == ("ShareCameIntoEffect", iso(start), s.now)
    assert came.actor == ACTOR
    assert came.commandid == f"schedule:{charger}:{guest}:{start.isoformat()}"
    assert await turn.tick() == 0  # nothing twice
    s.now = end
    assert await turn.tick() == 1
    assert [(e.type, e.data["at"], e.data.get("ended")) for e in marks(s)] == [
        ("ShareCameIntoEffect", iso(start), None), ("ShareWentOutOfEffect", iso(end), True)]
    # the turn folded its own ShareWentOutOfEffect: the share has nothing more ahead
    assert (turn.boundaries, turn.notices, turn.due_shares) == (2, 0, 0)
    assert await turn.tick() == 0  # folds its own last event: the share is over
    assert turn.due_shares == 0


async def test_after_downtime_the_missed_boundaries_come_in_order(s: Scenario) -> None:
    owner, guest, other = s.user(), s.user(), s.user()
    charger = s.charger(owner)
    s.now = datetime(2025, 6, 6, 12, tzinfo=UTC)  # a Friday
    update(s, owner, guest, [charger], schedule=WEEKEND)
    update(s, owner, other, [charger], valid_from=s.now + timedelta(hours=30))
    s.now = datetime(2025, 6, 9, 12, tzinfo=UTC)  # the Monday after: down all weekend
    turn = scheduler(s)
    assert await turn.tick() == 2
    assert [(e.data["user_id"], e.type, e.data["at"]) for e in marks(s)] == [
        (str(guest), "ShareCameIntoEffect", "2025-06-07T06:00:00Z"),
        (str(guest), "ShareWentOutOfEffect", "2025-06-07T18:00:00Z"),
        (str(guest), "ShareCameIntoEffect", "2025-06-08T06:00:00Z"),
        (str(guest), "ShareWentOutOfEffect", "2025-06-08T18:00:00Z"),
        (str(other), "ShareCameIntoEffect", "2025-06-07T18:00:00Z"),
    ]
    assert await turn.tick() == 0
    assert turn.timetable.next_due() == datetime(2025, 6, 14, 6, tzinfo=UTC)


async def test_the_ending_notice_once_and_none_after_the_share_changed(s: Scenario) -> None:
    owner, kept, changed = s.user(), s.user(name="Kari"), s.user()
    charger = s.charger(owner)
    end = s.now + timedelta(days=3)
    update(s, owner, kept, [charger], valid_until=end)
    update(s, owner, changed, [charger], valid_until=end)
    turn = scheduler(s)
    await turn.tick()
    update(s, owner, changed, [charger])  # permanent now: no notice
    s.now = end - NOTICE + timedelta(seconds=1)
    assert await turn.tick() == 1
    assert await turn.tick() == 0
    [notice] = marks(s)
    assert notice.type == "ShareEnding"
    assert notice.data["user_id"] == str(kept)
    assert notice.data["user"]["name"] == "Kari"
    assert notice.data["at"] == iso(end - NOTICE)
    s.now = end + timedelta(days=1)
    await turn.tick()
    assert [e.type for e in marks(s)] == ["ShareEnding", "ShareWentOutOfEffect"]


async def test_no_notice_for_a_share_that_ended_first_and_no_busy_loop(
        s: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    s.now = datetime(2025, 6, 2, 12, tzinfo=UTC)  # a Monday
    end = datetime(2025, 6, 11, 12, tzinfo=UTC)  # the Wednesday after next
    update(s, owner, guest, [charger], valid_until=end, schedule=WEEKEND)
    s.now = end - NOTICE + timedelta(hours=1)  # down since before the last weekend
    turn = scheduler(s)
    await turn.tick()
    assert "ShareEnding" not in [e.type for e in marks(s)]
    loads = 0
    real = s.store.load_batch

    def counting(*args: Any) -> Any:
        nonlocal loads
        loads += 1
        return real(*args)

    monkeypatch.setattr(s.store, "load_batch", counting)
    for _ in range(3):
        await turn.tick()
    assert loads == 0  # the refused notice is settled, not retried every turn
    assert marks(s)[-1].data["ended"] is True  # the last weekend was its last window
    assert turn.due_shares == 0


async def test_two_schedulers_append_each_boundary_once(s: Scenario) -> None:
    owner = s.user()
    guests = [s.user() for _ in range(5)]
    charger = s.charger(owner)
    start = s.now + timedelta(hours=1)
    for guest in guests:
        update(s, owner, guest, [charger], valid_from=start, valid_until=start + timedelta(hours=1))
    one, two = scheduler(s), scheduler(s)
    s.now = start + timedelta(hours=2)
    counts = await asyncio.gather(one.tick(), two.tick())
    assert sum(counts) == 5
    await asyncio.gather(one.tick(), two.tick())
    got = [(e.data["user_id"], e.type) for e in marks(s)]
    assert sorted(got) == sorted((str(g), t) for g in guests
                                 for t in ("ShareCameIntoEffect", "ShareWentOutOfEffect"))
    assert one.boundaries + two.boundaries == 10


def test_a_version_conflict_is_retried_on_fresh_state(
        s: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    start = s.now + timedelta(hours=1)
    update(s, owner, guest, [charger], valid_from=start)
    s.now = start
    real = s.store.commit
    raced: list[bool] = []

    def first_loses(*args: Any) -> list[int]:
        if not raced:  # another instance commits the same boundary first
            raced.append(True)
            assert append_due(s.store, charger, guest, NOTICE, lambda: s.now)
            raise IntegrityError("version taken")
        return real(*args)

    monkeypatch.setattr(s.store, "commit", first_loses)
    appended = append_due(s.store, charger, guest, NOTICE, lambda: s.now)
    assert not appended  # the retry found nothing due
    assert [e.type for e in marks(s)] == ["ShareCameIntoEffect"]


def counted_commits(s: Scenario, monkeypatch: pytest.MonkeyPatch,
                    fail_at: int | None = None) -> list[int]:
    """The store's commits from now on, each as its number of events; the `fail_at`-th
    (1-based) raises as a database outage would, before committing."""
    commits: list[int] = []
    real = s.store.commit

    def counted(*args: Any) -> list[int]:
        commits.append(len(args[0]))
        if len(commits) == fail_at:
            raise OSError("db down")
        return real(*args)

    monkeypatch.setattr(s.store, "commit", counted)
    return commits


async def test_shares_due_together_are_appended_in_one_commit(
        s: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    owners = [s.user() for _ in range(3)]
    chargers = [s.charger(owner) for owner in owners]
    guests = [s.user() for _ in range(4)]
    start = s.now + timedelta(hours=1)
    shares = [(0, 0), (0, 1), (1, 2), (2, 3)]  # two guests on the first charger
    for c, g in shares:
        update(s, owners[c], guests[g], [chargers[c]], valid_from=start + timedelta(seconds=g))
    turn = scheduler(s)
    await turn.tick()
    commits = counted_commits(s, monkeypatch)
    s.now = start + timedelta(seconds=10)
    assert await turn.tick() == 4
    assert commits == [4]
    assert sorted((e.data["user_id"], e.data["at"]) for e in marks(s)) == sorted(
        (str(guests[g]), iso(start + timedelta(seconds=g))) for _c, g in shares)
    assert await turn.tick() == 0


async def test_many_due_together_are_appended_in_bounded_chunks(
        s: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    """A start after downtime can find tens of thousands due at once: each chunk's
    aggregates are loaded and committed before the next chunk's, and a chunk that fails
    leaves itself and those after it due, not those committed before it."""
    monkeypatch.setattr(runner, "APPEND_CHUNK", 2)
    owner = s.user()
    chargers = [s.charger(owner) for _ in range(5)]
    guests = [s.user() for _ in range(5)]
    start = s.now + timedelta(hours=1)
    for charger, guest in zip(chargers, guests, strict=True):
        update(s, owner, guest, [charger], valid_from=start)
    turn = scheduler(s)
    await turn.tick()
    s.now = start + timedelta(seconds=1)
    with monkeypatch.context() as patched:
        commits = counted_commits(s, patched, fail_at=2)
        with pytest.raises(OSError, match="db down"):
            await turn.tick()
    assert commits == [2, 2]
    assert len(marks(s)) == 2  # the first chunk's, committed before the failure

    commits = counted_commits(s, monkeypatch)
    assert await turn.tick() == 3
    assert commits == [2, 1]
    assert sorted(e.data["user_id"] for e in marks(s)) == sorted(str(g) for g in guests)
    assert await turn.tick() == 0


def test_a_conflict_appending_together_falls_back_to_one_at_a_time(
        s: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = s.user()
    charger, other = s.charger(owner), s.charger(owner)
    guest, second = s.user(), s.user()
    start = s.now + timedelta(hours=1)
    update(s, owner, guest, [charger, other], valid_from=start)
    update(s, owner, second, [other], valid_from=start)
    s.now = start
    keys = [(charger, guest), (other, guest), (other, second)]
    real = s.store.commit
    raced: list[bool] = []

    def first_loses(*args: Any) -> list[int]:
        if not raced:  # another instance appends one of them first
            raced.append(True)
            assert append_due(s.store, other, second, NOTICE, lambda: s.now)
            raise IntegrityError("version taken")
        return real(*args)

    monkeypatch.setattr(s.store, "commit", first_loses)
    appended = append_all_due(s.store, keys, NOTICE, lambda: s.now)
    assert [bool(a) for a in appended] == [True, True, False]
    assert sorted((e.data["charger_id"], e.data["user_id"]) for e in marks(s)) == sorted(
        (str(c), str(u)) for c, u in keys)


def failing(*_args: object) -> None:
    raise OSError("db down")


async def test_a_failing_append_leaves_the_share_due(
        s: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    start = s.now + timedelta(hours=1)
    update(s, owner, guest, [charger], valid_from=start)
    turn = scheduler(s)
    s.now = start
    with monkeypatch.context() as patched:
        patched.setattr(s.store, "load_batch", failing)
        with pytest.raises(OSError, match="db down"):
            await turn.tick()
    assert await turn.tick() == 1
    assert [e.type for e in marks(s)] == ["ShareCameIntoEffect"]


async def test_it_naps_until_the_next_due_time_capped(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    update(s, owner, guest, [charger], valid_from=s.now + timedelta(milliseconds=100))
    turn = scheduler(s, max_nap=0.25)
    await turn.catch_up()
    assert turn._nap() == pytest.approx(0.1)
    s.now += timedelta(seconds=1)
    assert turn._nap() == 0.0
    update(s, owner, guest, [charger], valid_from=s.now + timedelta(hours=1))
    await turn.catch_up()
    assert turn._nap() == 0.25


async def test_the_loop_appends_when_woken_and_stops(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    turn = scheduler(s, max_nap=0.05)
    turn.start()
    await asyncio.sleep(0.1)
    update(s, owner, guest, [charger], valid_from=s.now + timedelta(seconds=1))
    s.now += timedelta(seconds=2)
    turn.notify()
    for _ in range(100):
        if marks(s):
            break
        await asyncio.sleep(0.02)
    await turn.stop()
    assert [e.type for e in marks(s)] == ["ShareCameIntoEffect"]
    assert turn.running() is False
