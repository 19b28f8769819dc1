"""Folding time-bound shares: the window into the share row and its `why`, the boundary
events into the share's `in_effect` and the history, the window of an invitation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

from charger_access_client import access_events as ev
from services.access.eventlog.values import LoggedEvent
from services.access.projection.changes import fold_logged, share_reason, share_why, window_of
from services.access.projection.rows import ShareEffect, ShareRow
from tests.schedules import WEEKEND
from tests.unit.access.event_builders import T0, ScriptedLog

SOURCE = {"kind": "update", "command_id": "cmd-1"}


def grant(log: ScriptedLog, charger: UUID, user: UUID, level: str = "charge",
          **window: object) -> LoggedEvent:
    return log.add(ev.AccessGranted(charger_id=charger, user_id=user, level=level,
                                    source=SOURCE, **window), charger)


def boundary(log: ScriptedLog, charger: UUID, user: UUID, at: datetime, *, on: bool,
             ended: bool = False) -> LoggedEvent:
    event: ev.AccessEvent = (
        ev.ShareCameIntoEffect(charger_id=charger, user_id=user, level="charge", at=at) if on
        else ev.ShareWentOutOfEffect(charger_id=charger, user_id=user, level="charge", at=at,
                                     ended=ended))
    return log.add(event, charger)


def pair(log: ScriptedLog) -> tuple[UUID, UUID]:
    owner, guest = log.user(), log.user()
    charger = log.charger(owner)
    log.take()
    return charger, guest


def test_a_time_bound_grant_keeps_its_window_and_whether_it_was_in_effect_then():
    log = ScriptedLog()
    charger, guest = pair(log)
    start, end = T0 + timedelta(days=1), T0 + timedelta(days=2)
    granted = grant(log, charger, guest, valid_from=start, valid_until=end, schedule=WEEKEND)
    row = fold_logged(log.take()).shares[(charger, guest)]
    assert row == ShareRow(
        "charge",
        {"source": "share", "command_id": "cmd-1",
         "valid_from": start.isoformat().replace("+00:00", "Z"),
         "valid_until": end.isoformat().replace("+00:00", "Z"), "schedule": WEEKEND},
        start, end, WEEKEND, in_effect=False, effect_at=granted.envelope.time)


def test_a_share_in_effect_at_its_grant_says_so():
    log = ScriptedLog()
    charger, guest = pair(log)
    granted = grant(log, charger, guest, valid_until=T0 + timedelta(days=30))
    row = fold_logged(log.take()).shares[(charger, guest)]
    assert row is not None
    assert (row.in_effect, row.effect_at) == (True, granted.envelope.time)


def test_a_permanent_grant_folds_as_before():
    log = ScriptedLog()
    charger, guest = pair(log)
    grant(log, charger, guest)
    assert fold_logged(log.take()).shares[(charger, guest)] == ShareRow(
        "charge", {"source": "share", "command_id": "cmd-1"})


def test_the_why_is_the_same_whichever_way_the_instants_are_spelled():
    start = datetime(2026, 6, 5, 16, tzinfo=UTC)
    spellings = [{"valid_from": "2026-06-05T16:00:00Z"},
                 {"valid_from": "2026-06-05T16:00:00+00:00"},
                 {"valid_from": start}]
    whys = [share_why(SOURCE, window_of(data)) for data in spellings]
    assert whys[0] == whys[1] == whys[2]
    assert whys[0]["valid_from"] == "2026-06-05T16:00:00Z"  # as the published event spells it
    assert share_why(SOURCE, window_of({})) == share_reason(SOURCE)


def test_a_boundary_after_the_grant_in_one_batch_updates_the_granted_row():
    log = ScriptedLog()
    charger, guest = pair(log)
    start = T0 + timedelta(seconds=30)
    grant(log, charger, guest, valid_from=start)
    boundary(log, charger, guest, start, on=True)
    changes = fold_logged(log.take())
    row = changes.shares[(charger, guest)]
    assert row is not None
    assert (row.in_effect, row.effect_at) == (True, start)
    assert changes.share_effects == {}


def test_a_boundary_of_an_earlier_grant_is_a_patch_and_changes_no_access_row():
    log = ScriptedLog()
    charger, guest = pair(log)
    end = T0 + timedelta(hours=1)
    boundary(log, charger, guest, T0, on=True)
    boundary(log, charger, guest, end, on=False, ended=True)
    changes = fold_logged(log.take())
    assert changes.shares == {}
    assert changes.share_effects == {(charger, guest): ShareEffect(False, end)}
    assert changes.touched_pairs == set()
    details = [(h.envelope.type, h.details) for h in changes.history]
    assert details == [
        ("ShareCameIntoEffect", {"user_id": str(guest), "level": "charge",
                                 "at": T0.isoformat()}),
        ("ShareWentOutOfEffect", {"user_id": str(guest), "level": "charge",
                                  "at": end.isoformat(), "ended": True}),
    ]


def test_a_later_grant_or_revoke_replaces_a_pending_boundary_patch():
    log = ScriptedLog()
    charger, guest = pair(log)
    boundary(log, charger, guest, T0, on=False)
    grant(log, charger, guest, "manage")
    changes = fold_logged(log.take())
    assert changes.share_effects == {}
    assert changes.shares[(charger, guest)] == ShareRow(
        "manage", {"source": "share", "command_id": "cmd-1"})

    boundary(log, charger, guest, T0, on=True)
    log.revoke(charger, guest)
    boundary(log, charger, guest, T0, on=False)  # never after a revoke, but harmless
    changes = fold_logged(log.take())
    assert changes.share_effects == {}
    assert changes.shares == {(charger, guest): None}


def test_the_ending_notice_is_a_history_line_without_personal_data():
    log = ScriptedLog()
    charger, guest = pair(log)
    until = T0 + timedelta(days=1)
    log.add(ev.ShareEnding(
        charger_id=charger, user_id=guest, level="charge", valid_until=until,
        at=until - timedelta(hours=24),
        user=ev.Person(user_id=guest, email="secret@example.com", name="Secret"),
        charger=ev.ChargerRef(charger_id=charger, serial_number="SN-1")), charger)
    (line,) = fold_logged(log.take()).history
    assert line.details == {"user_id": str(guest), "level": "charge",
                            "valid_until": until.isoformat(),
                            "at": (until - timedelta(hours=24)).isoformat()}
    assert "secret" not in json.dumps(line.details).lower()


def test_each_send_of_an_invitation_sets_its_window_exactly():
    log = ScriptedLog()
    owner = log.user()
    charger = log.charger(owner)
    until = T0 + timedelta(days=5)
    invited = log.invite(owner, [charger])
    log.take()
    common = {"invitation_id": invited, "email": "guest@example.com",
              "chargers": [ev.ChargerRef(charger_id=charger, serial_number="SN-1")],
              "level": "charge", "locale": "nb",
              "inviter": ev.Person(user_id=owner, email="o@example.com"),
              "expires_at": T0 + timedelta(days=7), "token_salt": "s"}
    log.add(ev.InvitationResent(**common, valid_until=until, schedule=WEEKEND), invited)
    patch = fold_logged(log.take()).invitations[invited]
    assert (patch.window_set, patch.valid_from, patch.valid_until, patch.schedule) == (
        True, None, until, WEEKEND)

    log.add(ev.InvitationResent(**common), invited)
    patch = fold_logged(log.take()).invitations[invited]
    assert (patch.window_set, patch.valid_until, patch.schedule) == (True, None, None)
