"""One human sentence per event: "Kari invited ola@example.no to Garasje (charge)".

Names come from a `Directory` fed with every event before it (users, groups, chargers as
they were then); an id nobody named yet is shown shortened, so a sentence never fails.
A share's window is stated with it ("…, from … until … on Sat, Sun 08:00-20:00
(Europe/Oslo)", `window_words`); a boundary names its nominal instant and, from the window
the directory learned at the grant, when the share's state changes next.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from charger_access_client import access_events as ev
from charger_access_client.envelope import EventEnvelope
from services.access.audit.directory import Directory
from services.access.audit.window_words import instant, window_of, with_window
from services.access.domain.windows import Window, next_start, period_end

Sentence = Callable[[Directory, str, Any], str]


def describe(directory: Directory, envelope: EventEnvelope,
             event: ev.AccessEvent | None = None) -> str:
    """The event as a sentence, with the names known before it happened; `event`: the
    envelope's data already validated (a reader that decoded it has it: validating a
    thousand charger references again cost as much as decoding them)."""
    model = ev.EVENT_TYPES.get(envelope.type)
    sentence = _SENTENCES.get(envelope.type)
    if model is None or sentence is None:
        return f"{envelope.type} on {envelope.subject}"
    actor = directory.actor(envelope.actor) if envelope.actor else "the system"
    if event is None or type(event) is not model:
        event = model.model_validate(envelope.data)
    return sentence(directory, actor, event)


def _registered(d: Directory, _a: str, e: ev.UserRegistered) -> str:
    return f"{e.name or e.email} registered with {e.email}"


def _group_created(d: Directory, a: str, e: ev.GroupCreated) -> str:
    kind = "personal group" if e.personal else "group"
    return f"{a} created {kind} {e.name}"


def _member_added(d: Directory, a: str, e: ev.GroupMemberAdded) -> str:
    return f"{a} made {d.user(e.user_id)} {e.role} of {d.group(e.group_id)}"


def _member_removed(d: Directory, a: str, e: ev.GroupMemberRemoved) -> str:
    return f"{a} removed {d.user(e.user_id)} from {d.group(e.group_id)}"


def _charger_registered(d: Directory, a: str, e: ev.ChargerRegistered) -> str:
    return (f"{a} registered charger {e.name or e.serial_number} ({e.serial_number}) "
            f"in {d.group(e.group_id)}")


def _invited(d: Directory, a: str, e: ev.UserInvited) -> str:
    return with_window(f"{a} invited {e.email} to {d.charger_list(e.chargers)} ({e.level})",
                       window_of(e))


def _resent(d: Directory, a: str, e: ev.InvitationResent) -> str:
    return (f"{a} sent the invitation to {e.email} again, valid until "
            f"{e.expires_at:%Y-%m-%d %H:%M %Z}")


def _accepted(d: Directory, _a: str, e: ev.InvitationAccepted) -> str:
    chargers = ", ".join(d.charger(c) for c in e.charger_ids)
    return with_window(f"{d.user(e.user_id)} accepted the invitation to {chargers} ({e.level})",
                       window_of(e))


def _declined(d: Directory, _a: str, e: ev.InvitationDeclined) -> str:
    return f"{d.user(e.user_id)} declined the invitation sent to {d.invitee(e.invitation_id)}"


def _revoked(d: Directory, a: str, e: ev.InvitationRevoked) -> str:
    if e.reason == "user_removed":
        return f"The invitation to {e.email} ended: {a} removed the user"
    if e.reason == "charger_transferred":
        return f"The invitation to {e.email} ended: {a} gave the charger away"
    return f"{a} revoked the invitation to {e.email}"


def _granted(d: Directory, a: str, e: ev.AccessGranted) -> str:
    via = ("by accepting an invitation" if e.source.get("invitation_id")
           else f"from {a}")
    return with_window(f"{d.user(e.user_id)} got {e.level} access to "
                       f"{d.charger(e.charger_id)} {via}", window_of(e))


_REVOKE_REASONS = {"updated": "access edited", "user_removed": "user removed",
                   "charger_transferred": "charger given away"}


def _access_revoked(d: Directory, a: str, e: ev.AccessRevoked) -> str:
    return (f"{a} ended {d.user(e.user_id)}'s share on {d.charger(e.charger_id)} "
            f"({_REVOKE_REASONS[e.reason]})")


def _access_changed(d: Directory, _a: str, e: ev.UserAccessChanged) -> str:
    chargers = d.charger_list(e.chargers) or "no chargers"
    return with_window(f"{d.person(e.changed_by)} set {d.person(e.user)}'s access to "
                       f"{chargers} ({e.level})", window_of(e))


def _access_removed(d: Directory, _a: str, e: ev.UserAccessRemoved) -> str:
    return (f"{d.person(e.removed_by)} removed {d.person(e.user)}'s access to "
            f"{d.charger_list(e.chargers) or 'no chargers'}")


def _moved(d: Directory, a: str, e: ev.ChargerMovedToGroup) -> str:
    return (f"{a} moved {d.charger(e.charger_id)} from {d.group(e.from_group_id)} "
            f"to {d.group(e.to_group_id)}")


def _ownership(d: Directory, a: str, e: ev.ChargerOwnershipTransferred) -> str:
    return (f"{a} made {d.person(e.to_owner)} owner of {d.charger(e.charger_id)} "
            f"(was {d.user(e.from_owner_id)})")


def _given(d: Directory, a: str, e: ev.ChargerTransferredToUser) -> str:
    connection = "connection kept" if e.connected else "connection off"
    return f"{a} gave {d.charger(e.charger_id)} to {d.person(e.to_user)} ({connection})"


def _share(d: Directory, e: ev.ShareCameIntoEffect | ev.ShareWentOutOfEffect) -> str:
    return f"{d.user(e.user_id)}'s {e.level} share on {d.charger(e.charger_id)}"


def _zone(window: Window | None) -> tzinfo | None:
    """Where a share's instants read best: its schedule's zone, if it has one."""
    return window.schedule.zone if window is not None and window.schedule is not None else None


def _came_into_effect(d: Directory, _a: str, e: ev.ShareCameIntoEffect) -> str:
    window = d.window(e.charger_id, e.user_id)
    sentence = f"{_share(d, e)} came into effect at {instant(e.at, _zone(window))}"
    end = period_end(window, e.at) if window is not None else None
    if end is not None and end > e.at:
        sentence += f", until {instant(end, _zone(window))}"
    return sentence


def _went_out_of_effect(d: Directory, _a: str, e: ev.ShareWentOutOfEffect) -> str:
    window = d.window(e.charger_id, e.user_id)
    at = instant(e.at, _zone(window))
    if e.ended:
        return f"{_share(d, e)} ended at {at}, when its window closed for good"
    sentence = f"{_share(d, e)} went out of effect at {at}"
    again = next_start(window, e.at) if window is not None else None
    if again is not None and again > e.at:
        sentence += f", back in effect at {instant(again, _zone(window))}"
    return sentence


def _ending(d: Directory, _a: str, e: ev.ShareEnding) -> str:
    window = d.window(e.charger_id, e.user_id)
    return (f"{d.person(e.user)} was told that their {e.level} share on "
            f"{d.charger(e.charger_id)} ends at {instant(e.valid_until, _zone(window))}")


def _forgotten(d: Directory, _a: str, e: ev.UserForgotten) -> str:
    return f"{e.pseudonym_name} was forgotten: their e-mail, phone and name are shredded"


def _key_added(d: Directory, a: str, e: ev.ChargeKeyAdded) -> str:
    return f"{a} added {e.type} key {str(e.key_id)[:8]} for {d.user(e.user_id)}"


def _key_blocked(d: Directory, a: str, e: ev.ChargeKeyBlocked) -> str:
    return f"{a} blocked {d.key(e.key_id)} of {d.user(e.user_id)}"


def _key_unblocked(d: Directory, a: str, e: ev.ChargeKeyUnblocked) -> str:
    return f"{a} unblocked {d.key(e.key_id)} of {d.user(e.user_id)}"


def _key_removed(d: Directory, a: str, e: ev.ChargeKeyRemoved) -> str:
    if e.reason == "user_forgotten":
        return f"{d.key(e.key_id)} of {d.user(e.user_id)} was removed: its user was forgotten"
    return f"{a} removed {d.key(e.key_id)} of {d.user(e.user_id)}"


_SENTENCES: dict[str, Sentence] = {
    "UserForgotten": _forgotten,
    "UserRegistered": _registered,
    "GroupCreated": _group_created,
    "GroupMemberAdded": _member_added,
    "GroupMemberRemoved": _member_removed,
    "ChargerRegistered": _charger_registered,
    "UserInvited": _invited,
    "InvitationResent": _resent,
    "InvitationAccepted": _accepted,
    "InvitationDeclined": _declined,
    "InvitationRevoked": _revoked,
    "AccessGranted": _granted,
    "AccessRevoked": _access_revoked,
    "UserAccessChanged": _access_changed,
    "UserAccessRemoved": _access_removed,
    "ChargerMovedToGroup": _moved,
    "ChargerOwnershipTransferred": _ownership,
    "ChargerTransferredToUser": _given,
    "ShareCameIntoEffect": _came_into_effect,
    "ShareWentOutOfEffect": _went_out_of_effect,
    "ShareEnding": _ending,
    "ChargeKeyAdded": _key_added,
    "ChargeKeyBlocked": _key_blocked,
    "ChargeKeyUnblocked": _key_unblocked,
    "ChargeKeyRemoved": _key_removed,
}
