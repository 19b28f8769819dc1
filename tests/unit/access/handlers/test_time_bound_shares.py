"""Time-bound and recurring shares on the write side: invitations and UpdateUserAccess carry
a window, acceptance grants with it, manage rights count only while in effect, and the
charger appends its boundaries and the ending notice exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

from services.access.domain.base import Cause
from services.access.domain.windows import Window
from services.access.eventlog.fast import decode_fast
from services.access.eventlog.reader import decode
from services.access.eventlog.translation import decode_with_mapper
from tests.unit.access.scenario import Scenario

WEEKEND = {"time_zone": "Europe/Oslo",
           "windows": [{"days": ["sat", "sun"], "from": "08:00", "until": "20:00"}]}
NOTICE = timedelta(hours=24)


def iso(t: datetime) -> str:
    """As the published events write an instant (pydantic's JSON: UTC as Z)."""
    return t.isoformat().replace("+00:00", "Z")


def invite(s: Scenario, actor: UUID, user: UUID, chargers: list[UUID], level: str = "charge",
           **window: Any) -> tuple[UUID, str]:
    invitation_id = uuid4()
    s.ok("InviteUser", actor, invitation_id=invitation_id, email=s.emails[user],
         charger_ids=chargers, level=level, **window)
    return invitation_id, s.token(invitation_id)


def share(s: Scenario, actor: UUID, user: UUID, chargers: list[UUID], level: str = "charge",
          **window: Any) -> None:
    invitation_id, token = invite(s, actor, user, chargers, level, **window)
    s.ok("AcceptInvitation", user, invitation_id=invitation_id, token=token)


def window_of(s: Scenario, charger: UUID, user: UUID) -> Window:
    return s.charger_state(charger).window_of(user)


def scheduler(s: Scenario) -> Cause:
    return Cause("scheduler", f"boundaries-{uuid4()}", s.now)


def mark(s: Scenario, charger_id: UUID, user: UUID) -> list[str]:
    """What a scheduler does at `s.now`; the types appended."""
    before = s.head()
    charger = s.charger_state(charger_id)
    charger.mark_boundaries(user, s.now, scheduler(s))
    s.store.save(charger)
    s.events = s.published_since(before)
    return s.types()


def notice(s: Scenario, charger_id: UUID, user: UUID) -> bool:
    before = s.head()
    charger = s.charger_state(charger_id)
    noticed = charger.notice_ending(s.user_state(user).person(), s.now, NOTICE, scheduler(s))
    s.store.save(charger)
    s.events = s.published_since(before)
    return noticed


# -- the window travels with the invitation ---------------------------------------------


def test_the_invitation_carries_its_window_to_the_granted_shares(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    start, end = s.now + timedelta(days=1), s.now + timedelta(days=10)
    invitation_id, _token = invite(s, owner, guest, [charger], valid_from=start,
                                   valid_until=end, schedule=WEEKEND)
    [invited] = s.of_type("UserInvited")
    assert (invited["valid_from"], invited["valid_until"], invited["schedule"]) == (
        iso(start), iso(end), WEEKEND)

    s.ok("ResendInvitation", owner, invitation_id=invitation_id)
    [resent] = s.of_type("InvitationResent")
    assert (resent["valid_from"], resent["valid_until"], resent["schedule"]) == (
        iso(start), iso(end), WEEKEND)

    s.ok("AcceptInvitation", guest, invitation_id=invitation_id, token=s.token(invitation_id))
    [accepted] = s.of_type("InvitationAccepted")
    [granted] = s.of_type("AccessGranted")
    for event in (accepted, granted):
        assert (event["valid_from"], event["valid_until"], event["schedule"]) == (
            iso(start), iso(end), WEEKEND)
    assert window_of(s, charger, guest) == Window.from_data(
        {"valid_from": start, "valid_until": end, "schedule": WEEKEND})
    state = s.charger_state(charger)
    assert state.effect[str(guest)] == {"in_effect": False, "at": s.now.isoformat()}
    assert s.shares(charger) == {str(guest): "charge"}


def test_a_permanent_invitation_grants_a_share_without_window_state(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    share(s, owner, guest, [charger])
    [granted] = s.of_type("AccessGranted")
    assert (granted["valid_from"], granted["valid_until"], granted["schedule"]) == (None,) * 3
    state = s.charger_state(charger)
    assert (state.windows, state.effect, state.granted_at) == ({}, {}, {})
    assert window_of(s, charger, guest).permanent


def test_a_window_that_already_ended_is_invalid(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    for command, data in (
        ("InviteUser", {"invitation_id": uuid4(), "email": s.emails[guest],
                        "charger_ids": [charger]}),
        ("UpdateUserAccess", {"user_id": guest, "charger_ids": [charger]}),
    ):
        result = s.run(command, owner, **data, valid_until=s.now)
        assert (result.status, result.reason) == ("rejected", "invalid")
        assert result.detail.startswith("valid_until: must be after the command's time")
        assert s.events == []
        result = s.run(command, owner, **data, valid_until=s.now + timedelta(seconds=1))
        assert result.status == "accepted"


def test_the_window_rule_comes_before_loading_what_the_command_names(s: Scenario) -> None:
    stranger = uuid4()  # not even a registered user
    result = s.run("UpdateUserAccess", stranger, user_id=uuid4(), charger_ids=[],
                   valid_until=s.now - timedelta(days=1))
    assert (result.status, result.reason) == ("rejected", "invalid")


# -- accepting over an existing share ---------------------------------------------------


def test_accepting_never_lowers_nor_bounds_a_permanent_share(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    manage, charge = s.charger(owner), s.charger(owner)
    share(s, owner, guest, [manage], level="manage")
    share(s, owner, guest, [charge])
    share(s, owner, guest, [manage, charge], valid_until=s.now + timedelta(days=2))
    assert s.of_type("AccessGranted") == []
    assert s.shares(manage) == {str(guest): "manage"}
    assert window_of(s, manage, guest).permanent
    assert window_of(s, charge, guest).permanent


def test_accepting_replaces_a_time_bound_share_of_equal_level(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    share(s, owner, guest, [charger], valid_until=s.now + timedelta(days=2))
    share(s, owner, guest, [charger], schedule=WEEKEND)
    [granted] = s.of_type("AccessGranted")
    assert (granted["level"], granted["valid_until"], granted["schedule"]) == (
        "charge", None, WEEKEND)
    assert window_of(s, charger, guest) == Window.from_data({"schedule": WEEKEND})
    assert "SharesRecorded" not in s.types()  # unpublished anyway; the level did not change


def test_accepting_a_higher_level_takes_the_invitations_window(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    share(s, owner, guest, [charger])  # permanent charge
    share(s, owner, guest, [charger], level="manage", schedule=WEEKEND)
    [granted] = s.of_type("AccessGranted")
    assert (granted["level"], granted["schedule"]) == ("manage", WEEKEND)
    assert s.user_state(guest).shares == {str(charger): "manage"}


def test_accepting_a_lower_level_leaves_a_time_bound_share_alone(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    share(s, owner, guest, [charger], level="manage", schedule=WEEKEND)
    share(s, owner, guest, [charger])
    assert s.of_type("AccessGranted") == []
    assert window_of(s, charger, guest) == Window.from_data({"schedule": WEEKEND})


# -- UpdateUserAccess sets level and window exactly -------------------------------------


def test_update_user_access_sets_the_window_and_says_so(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    end = s.now + timedelta(days=3)
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger], valid_until=end,
         schedule=WEEKEND)
    [granted] = s.of_type("AccessGranted")
    [changed] = s.of_type("UserAccessChanged")
    for event in (granted, changed):
        assert (event["valid_from"], event["valid_until"], event["schedule"]) == (
            None, iso(end), WEEKEND)
    # The same again changes nothing.
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger], valid_until=end,
         schedule=WEEKEND)
    assert s.events == []
    # Only the window differs: a new grant at the same level.
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger], valid_until=end)
    [granted] = s.of_type("AccessGranted")
    assert (granted["level"], granted["schedule"]) == ("charge", None)
    assert len(s.of_type("UserAccessChanged")) == 1
    # No window given: permanent again, and the window state is gone.
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger])
    [granted] = s.of_type("AccessGranted")
    assert (granted["valid_from"], granted["valid_until"], granted["schedule"]) == (None,) * 3
    state = s.charger_state(charger)
    assert (state.windows, state.effect, state.granted_at) == ({}, {}, {})


def test_revoking_a_time_bound_share_drops_its_window_state(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger],
         valid_until=s.now + timedelta(hours=2))
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[])
    state = s.charger_state(charger)
    assert (state.shares, state.windows, state.effect, state.granted_at) == ({}, {}, {}, {})


# -- manage rights count only while in effect -------------------------------------------


def test_a_manage_share_gives_command_rights_only_while_in_effect(s: Scenario) -> None:
    owner, manager, guest = s.user(), s.user(), s.user()
    charger = s.charger(owner)
    s.ok("UpdateUserAccess", owner, user_id=manager, charger_ids=[charger], level="manage",
         valid_from=s.now + timedelta(hours=1), valid_until=s.now + timedelta(hours=3))

    def may_share() -> str | None:
        return s.run("UpdateUserAccess", manager, user_id=guest, charger_ids=[charger]).reason

    assert may_share() == "forbidden"
    s.advance(hours=1)
    assert may_share() is None
    s.advance(hours=2)
    assert may_share() == "forbidden"
    # Reading the share's level regardless of its window is still possible.
    assert s.level(manager, charger) == "manage"


def test_owner_and_group_roles_are_always_in_effect(s: Scenario) -> None:
    owner, admin, guest = s.user(), s.user(), s.user()
    group = s.group(owner, admins=[admin])
    charger = s.charger(owner, group=group)
    # A time-bound share of the admin changes nothing for the admin's rights.
    s.ok("UpdateUserAccess", owner, user_id=admin, charger_ids=[charger], level="charge",
         valid_until=s.now + timedelta(hours=1))
    s.advance(hours=2)
    s.ok("UpdateUserAccess", admin, user_id=guest, charger_ids=[charger])


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


# -- the published shapes decode the same both ways -------------------------------------


def test_windowed_events_decode_the_same_on_the_fast_path_and_the_mapper(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    start = datetime(2025, 3, 2, 14, tzinfo=timezone(timedelta(hours=2)))  # not UTC
    share(s, owner, guest, [charger], valid_from=start, valid_until=start + timedelta(days=2),
          schedule=WEEKEND)
    end = start + timedelta(days=7)  # a Sunday afternoon, in the schedule
    s.ok("UpdateUserAccess", owner, user_id=guest, charger_ids=[charger], schedule=WEEKEND,
         valid_until=end)
    s.now = end - timedelta(hours=23)
    assert mark(s, charger, guest)
    assert notice(s, charger, guest)
    types = set()
    for n in s.store.recorder.select_notifications(1, 1_000_000):
        row = {"notification_id": n.id, "originator_id": n.originator_id,
               "originator_version": n.originator_version, "topic": n.topic, "state": n.state}
        if "Charger." not in n.topic and "Invitation." not in n.topic and "User." not in n.topic:
            continue
        event = s.store.mapper.to_domain_event(n)
        if not getattr(type(event), "PUBLISHED", False):
            continue
        assert decode_fast(row) is not None, n.topic
        fast, reference = decode(row), decode_with_mapper(row)
        assert fast.envelope == reference.envelope
        types.add(fast.envelope.type)
    assert {"UserInvited", "InvitationAccepted", "AccessGranted", "UserAccessChanged",
            "ShareCameIntoEffect", "ShareWentOutOfEffect", "ShareEnding"} <= types
