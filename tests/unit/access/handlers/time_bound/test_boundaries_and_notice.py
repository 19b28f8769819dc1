"""The charger appends its boundaries and the ending notice exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.schedules import WEEKEND
from tests.unit.access.audit.shares import iso
from tests.unit.access.handlers.time_bound.common import (
    NOTICE,
    mark,
    notice,
    share,
)
from tests.unit.access.scenario import Scenario

# -- boundaries -------------------------------------------------------------------------


def test_boundaries_are_appended_once_with_their_nominal_times(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    start, end = s.now + timedelta(minutes=10), s.now + timedelta(hours=1)
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger], valid_from=start,
         valid_until=end)
    assert mark(s, charger, guest) == []  # nothing due yet
    assert s.charger_state(charger).next_boundary(guest) == start

    s.now = start
    assert mark(s, charger, guest) == ["ShareCameIntoEffect"]
    assert s.of_type("ShareCameIntoEffect") == [
        {"charger_id": str(charger), "user_id": str(guest), "level": "charge", "at": iso(start)}]
    assert mark(s, charger, guest) == []  # a second scheduler instance: nothing more
    assert s.charger_state(charger).effect[str(guest)] == {"in_effect": True,
                                                          "at": start.isoformat()}
    assert s.charger_state(charger).next_boundary(guest) == end

    s.advance(days=5)  # down across the end: appended late, nominal time
    assert mark(s, charger, guest) == ["ShareWentOutOfEffect"]
    assert s.of_type("ShareWentOutOfEffect") == [
        {"charger_id": str(charger), "user_id": str(guest), "level": "charge", "at": iso(end),
         "ended": True}]
    assert s.events[0].time == s.now
    assert s.charger_state(charger).next_boundary(guest) is None
    assert s.shares(charger) == {str(guest): "charge"}  # ended, not revoked


def test_missed_boundaries_of_a_schedule_are_appended_in_order(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    s.now = datetime(2025, 6, 6, 12, tzinfo=UTC)  # a Friday
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger], schedule=WEEKEND)
    s.now = datetime(2025, 6, 8, 12, tzinfo=UTC)  # Sunday 14:00 in Oslo
    assert mark(s, charger, guest) == [
        "ShareCameIntoEffect", "ShareWentOutOfEffect", "ShareCameIntoEffect"]
    assert [e.data["at"] for e in s.events] == [
        "2025-06-07T06:00:00Z", "2025-06-07T18:00:00Z", "2025-06-08T06:00:00Z"]
    assert s.events[1].data["ended"] is False
    assert [e.sequence for e in s.events] == sorted(e.sequence for e in s.events)


def test_a_new_grant_restarts_the_boundaries_from_its_own_time(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger],
         valid_from=s.now + timedelta(hours=1))
    s.advance(hours=2)
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger],
         valid_until=s.now + timedelta(hours=1))  # in effect from this grant on
    assert s.charger_state(charger).effect[str(guest)] == {"in_effect": True,
                                                          "at": s.now.isoformat()}
    assert mark(s, charger, guest) == []  # the missed start belonged to the old window


def test_a_permanent_share_has_no_boundaries(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    share(s, owner, guest, [charger])
    s.advance(days=400)
    assert mark(s, charger, guest) == []
    assert s.charger_state(charger).next_boundary(guest) is None


# -- the ending notice ------------------------------------------------------------------


def test_the_ending_notice_goes_once_when_due(s: Scenario) -> None:
    owner, guest = s.user(), s.user(name="Kari")
    charger = s.charger(owner)
    end = s.now + timedelta(days=3)
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger], valid_until=end)
    assert s.charger_state(charger).ending_due(guest, NOTICE) == end - NOTICE
    assert not notice(s, charger, guest)  # not yet
    s.now = end - NOTICE + timedelta(minutes=5)
    assert notice(s, charger, guest)
    [ending] = s.of_type("ShareEnding")
    assert ending["valid_until"] == iso(end)
    assert ending["at"] == iso(end - NOTICE)
    assert (ending["user"]["user_id"], ending["user"]["name"]) == (str(guest), "Kari")
    assert ending["charger"]["charger_id"] == str(charger)
    assert ending["level"] == "charge"
    assert ending["time_zone"] is None  # no schedule: the e-mail uses valid_until's offset
    assert not notice(s, charger, guest)  # once
    assert s.charger_state(charger).ending_due(guest, NOTICE) is None


def test_a_changed_end_gets_its_own_notice(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    end = s.now + timedelta(days=3)
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger], valid_until=end)
    s.now = end - NOTICE
    assert notice(s, charger, guest)
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger],
         valid_until=end + timedelta(days=7))
    assert not notice(s, charger, guest)
    s.now = end + timedelta(days=6)
    assert notice(s, charger, guest)


def test_the_ending_notice_names_the_schedule_zone_for_the_e_mail(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    every_day = {"time_zone": "America/Santiago", "windows": [
        {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
         "from": "00:00", "until": "24:00"}]}
    end = s.now + timedelta(days=3)
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger], valid_until=end,
         schedule=every_day)
    s.now = end - NOTICE
    assert notice(s, charger, guest)
    [ending] = s.of_type("ShareEnding")
    assert ending["time_zone"] == "America/Santiago"


def test_no_notice_when_granted_already_that_close_to_the_end(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger],
         valid_until=s.now + timedelta(hours=5))
    assert s.charger_state(charger).ending_due(guest, NOTICE) is None
    s.advance(hours=1)
    assert not notice(s, charger, guest)


def test_no_notice_when_the_share_ended_or_changed_first(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    ended, changed, revoked = s.charger(owner), s.charger(owner), s.charger(owner)
    end = s.now + timedelta(days=3)
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[ended, changed, revoked],
         valid_until=end)
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[ended, changed])  # revoked
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[changed])  # permanent now
    s.now = end  # the scheduler was down across the notice time and the end
    assert not notice(s, ended, guest)
    assert not notice(s, changed, guest)
    assert not notice(s, revoked, guest)


def test_no_notice_for_a_schedule_that_will_not_open_again_before_its_end(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    s.now = datetime(2025, 6, 2, 12, tzinfo=UTC)  # a Monday
    end = datetime(2025, 6, 11, 12, tzinfo=UTC)  # the Wednesday after next
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger], valid_until=end,
         schedule=WEEKEND)
    s.now = end - NOTICE  # Tuesday: the last weekend is over
    assert not notice(s, charger, guest)
