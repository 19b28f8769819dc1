"""The scheduler's timetable: folded from the share events, it says when each time-bound
share next needs the scheduler, as the Charger aggregate would (its next boundary or its
ending notice), and forgets shares that ended, were revoked or became permanent."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from services.access.schedule.appending import append_due
from services.access.schedule.due_times import SWEEP_SLACK
from services.access.schedule.shares import Timetable
from tests.schedules import WEEKEND
from tests.unit.access.scenario import Scenario
from tests.unit.access.schedule.helpers import all_share_events, update

NOTICE = timedelta(hours=24)


@pytest.fixture
def s() -> Scenario:
    return Scenario()


def folded(s: Scenario) -> Timetable:
    timetable = Timetable(NOTICE)
    timetable.fold(all_share_events(s))
    return timetable


def append(s: Scenario, charger: UUID, user: UUID) -> None:
    assert append_due(s.store, charger, user, NOTICE, lambda: s.now)


def aggregate_due(s: Scenario, charger: UUID, user: UUID) -> datetime | None:
    """What the aggregate itself says is next due for the share."""
    state = s.charger_state(charger)
    times = [state.next_boundary(user), state.ending_due(user, NOTICE)]
    return min((t for t in times if t is not None), default=None)


def test_a_share_starting_later_is_due_at_its_start_then_its_notice_then_its_end(
        s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    start, end = s.now + timedelta(hours=1), s.now + timedelta(days=3)
    update(s, owner, guest, [charger], valid_from=start, valid_until=end)
    timetable = folded(s)
    assert timetable.next_due() == start == aggregate_due(s, charger, guest)
    assert timetable.pop_due(start - timedelta(seconds=1)) == []
    assert timetable.pop_due(start) == [((charger, guest), start)]
    assert timetable.next_due() is None  # out of the heap until its events are folded


def test_folding_the_appended_events_moves_the_due_time_on(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    start, end = s.now + timedelta(hours=1), s.now + timedelta(days=3)
    update(s, owner, guest, [charger], valid_from=start, valid_until=end)
    timetable = folded(s)
    timetable.pop_due(start)
    s.now = start
    append(s, charger, guest)
    timetable.fold(all_share_events(s))
    assert timetable.next_due() == end - NOTICE == aggregate_due(s, charger, guest)
    s.now = end - NOTICE
    append(s, charger, guest)
    timetable.fold(all_share_events(s))
    assert timetable.next_due() == end == aggregate_due(s, charger, guest)
    s.now = end
    append(s, charger, guest)
    timetable.fold(all_share_events(s))
    assert timetable.next_due() is None
    assert timetable.shares == {}  # ended: nothing will ever be due


def test_a_schedule_is_due_at_each_window_edge(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    s.now = datetime(2025, 6, 6, 12, tzinfo=UTC)  # a Friday
    update(s, owner, guest, [charger], schedule=WEEKEND)
    timetable = folded(s)
    saturday_8 = datetime(2025, 6, 7, 6, tzinfo=UTC)  # 08:00 in Oslo (summer time)
    assert timetable.next_due() == saturday_8 == aggregate_due(s, charger, guest)
    share = timetable.shares[(charger, guest)]
    assert share.in_effect is False
    assert share.notice_at(NOTICE) is None  # no end, no notice


def test_revoked_and_permanent_shares_leave_the_timetable(s: Scenario) -> None:
    owner, guest, other = s.user(), s.user(), s.user()
    revoked, permanent = s.charger(owner), s.charger(owner)
    later = s.now + timedelta(hours=1)
    update(s, owner, guest, [revoked, permanent], valid_from=later)
    update(s, owner, other, [revoked], valid_from=later)
    assert set(folded(s).shares) == {(revoked, guest), (permanent, guest), (revoked, other)}
    update(s, owner, guest, [permanent])  # revoked on `revoked`, permanent on `permanent`
    timetable = folded(s)
    assert set(timetable.shares) == {(revoked, other)}
    assert timetable.pop_due(later) == [((revoked, other), later)]


def test_a_new_grant_replaces_the_due_times(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    update(s, owner, guest, [charger], valid_from=s.now + timedelta(hours=1))
    update(s, owner, guest, [charger], valid_from=s.now + timedelta(hours=5))
    timetable = folded(s)
    assert timetable.next_due() == s.now + timedelta(hours=5) == aggregate_due(s, charger, guest)
    assert timetable.pop_due(s.now + timedelta(hours=4)) == []


def test_no_notice_when_granted_inside_the_notice_period(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    end = s.now + timedelta(hours=5)
    update(s, owner, guest, [charger], valid_until=end)
    timetable = folded(s)
    assert timetable.next_due() == end == aggregate_due(s, charger, guest)


def test_shares_come_due_in_order_of_their_times(s: Scenario) -> None:
    owner = s.user()
    guests = [s.user() for _ in range(4)]
    charger = s.charger(owner)
    offsets = [3, 1, 4, 2]
    for guest, hours in zip(guests, offsets, strict=True):
        update(s, owner, guest, [charger], valid_from=s.now + timedelta(hours=hours))
    timetable = folded(s)
    due = timetable.pop_due(s.now + timedelta(hours=3))
    assert [at for _key, at in due] == [s.now + timedelta(hours=h) for h in (1, 2, 3)]
    assert [key[1] for key, _at in due] == [guests[1], guests[3], guests[0]]
    assert timetable.next_due() == s.now + timedelta(hours=4)


def test_a_settled_due_time_is_not_due_again_until_the_share_changes(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    start = s.now + timedelta(hours=1)
    update(s, owner, guest, [charger], valid_from=start)
    timetable = folded(s)
    [(key, at)] = timetable.pop_due(start)
    timetable.settle(key, at)  # the aggregate had nothing to append (another instance did)
    assert timetable.pop_due(start + timedelta(minutes=1)) == []
    timetable.retry(key)  # a failed append puts it back as it was... still settled
    assert timetable.pop_due(start + timedelta(minutes=1)) == []
    update(s, owner, guest, [charger], valid_from=start + timedelta(hours=1))  # changed
    timetable.fold(all_share_events(s)[-1:])
    assert timetable.next_due() == start + timedelta(hours=1)


def test_a_notice_due_but_not_given_is_settled(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    end = s.now + timedelta(days=3)
    update(s, owner, guest, [charger], valid_until=end)
    timetable = folded(s)
    timetable.settle_notice((charger, guest), end - NOTICE - timedelta(seconds=1))  # not yet due
    assert timetable.next_due() == end - NOTICE
    timetable.settle_notice((charger, guest), end - NOTICE)
    assert timetable.next_due() == end


def test_a_failed_append_is_due_again(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    start = s.now + timedelta(hours=1)
    update(s, owner, guest, [charger], valid_from=start)
    timetable = folded(s)
    [(key, _at)] = timetable.pop_due(start)
    timetable.retry(key)
    assert timetable.pop_due(start) == [(key, start)]


def test_the_position_follows_the_folded_events(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    update(s, owner, guest, [charger], valid_from=s.now + timedelta(hours=1))
    events = all_share_events(s)
    assert folded(s).position == events[-1].position > 0


def test_superseded_heap_entries_are_compacted(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    update(s, owner, guest, [charger], valid_from=s.now + timedelta(hours=1))
    [granted] = all_share_events(s)
    timetable = Timetable(NOTICE)
    for _ in range(5000):
        timetable.fold([granted])
    assert len(timetable._due._heap) <= 2 * 1 + SWEEP_SLACK + 1
    assert timetable.pop_due(s.now + timedelta(hours=1)) == [
        ((charger, guest), s.now + timedelta(hours=1))]


def test_the_windows_of_shares_let_go_are_not_kept(s: Scenario) -> None:
    """Windows are shared among the shares held (one object per distinct window), not
    kept for shares the timetable let go: a fleet grants hundreds of thousands of
    distinct windows over its history."""
    owner = s.user()
    charger = s.charger(owner)
    for day in range(1, 21):  # twenty distinct windows, each due after the horizon
        update(s, owner, s.user(), [charger], valid_from=s.now + timedelta(days=day))
    timetable = Timetable(NOTICE, until=s.now + timedelta(hours=1))
    events = all_share_events(s)
    timetable.fold(events)
    del events
    gc.collect()
    assert timetable.shares == {}
    assert len(timetable._windows) == 0
