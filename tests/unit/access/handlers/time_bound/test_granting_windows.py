"""Windows as invitations and UpdateUserAccess grant them, accepting over an
existing share, and manage rights that count only while in effect."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from services.access.domain.windows import Window
from tests.schedules import WEEKEND
from tests.unit.access.audit.shares import iso
from tests.unit.access.handlers.time_bound.common import (
    invite,
    share,
    window_of,
)
from tests.unit.access.scenario import Scenario

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
