"""One human sentence per event: "Kari invited ola@example.no to Garasje (charge)".

Names come from a `Directory` fed with every event before it (users, groups, chargers as
they were then); an id nobody named yet is shown shortened, so a sentence never fails.
A share's window is stated with it ("…, from … until … on Sat, Sun 08:00-20:00
(Europe/Oslo)", `window_words`); a boundary names its nominal instant and, from the window
the directory learned at the grant, when the share's state changes next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any
from uuid import UUID

from charger_access_client import access_events as ev
from charger_access_client.envelope import EventEnvelope
from services.access.audit.window_words import instant, window_of, with_window
from services.access.domain.windows import Window, next_start, period_end

NAMING_TYPES = ("UserRegistered", "UserForgotten", "GroupCreated", "ChargerRegistered",
                "UserInvited", "InvitationResent", "ChargeKeyAdded")
"""The types `Directory.learn` takes a name from: each names the id it names (a key's
type by its user's id, as every event about the key names that user too)."""
WINDOW_TYPES = ("AccessGranted", "AccessRevoked")
"""The types `Directory.learn` takes a share's window from (they name charger and user)."""


@dataclass
class Directory:
    """Display names of the ids seen so far in the log."""

    users: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    chargers: dict[str, str] = field(default_factory=dict)
    invitations: dict[str, str] = field(default_factory=dict)
    """invitation_id → the invited e-mail address."""
    windows: dict[tuple[str, str], Window] = field(default_factory=dict)
    """(charger_id, user_id) → the window of a time-bound share, as last granted."""
    key_types: dict[str, str] = field(default_factory=dict)
    """key_id → the charge key's type (its token is personal data, never named)."""

    def learn(self, envelope: EventEnvelope) -> None:
        data = envelope.data
        if envelope.type == "UserRegistered":
            self.users[data["user_id"]] = data.get("name") or data["email"]
        elif envelope.type == "GroupCreated":
            self.groups[data["group_id"]] = data["name"]
        elif envelope.type == "ChargerRegistered":
            self.chargers[data["charger_id"]] = data.get("name") or data["serial_number"]
        elif envelope.type in ("UserInvited", "InvitationResent"):
            self.invitations[data["invitation_id"]] = data["email"]
        elif envelope.type == "UserForgotten":
            self.users[data["user_id"]] = data["pseudonym_name"]
        elif envelope.type == "AccessGranted":
            window = Window.from_data({k: data.get(k) for k in
                                       ("valid_from", "valid_until", "schedule")})
            self._set_window((data["charger_id"], data["user_id"]), window)
        elif envelope.type == "AccessRevoked":
            self.windows.pop((data["charger_id"], data["user_id"]), None)
        elif envelope.type == "ChargeKeyAdded":
            self.key_types[data["key_id"]] = data["type"]

    def _set_window(self, share: tuple[str, str], window: Window) -> None:
        if window.permanent:
            self.windows.pop(share, None)
        else:
            self.windows[share] = window

    def window(self, charger_id: object, user_id: object) -> Window | None:
        """The window of a time-bound share, None when unknown (or permanent)."""
        return self.windows.get((str(charger_id), str(user_id)))

    def actor(self, actor: str) -> str:
        """A user by name; an actor that is not a user id (the access service's scheduler
        appending boundaries) by what it calls itself."""
        if actor in self.users or _is_id(actor):
            return self.user(actor)
        return actor

    def user(self, user_id: object) -> str:
        return _named(self.users, user_id, "user")

    def group(self, group_id: object) -> str:
        return _named(self.groups, group_id, "group")

    def charger(self, charger_id: object) -> str:
        return _named(self.chargers, charger_id, "charger")

    def invitee(self, invitation_id: object) -> str:
        return _named(self.invitations, invitation_id, "invitation")

    def charger_list(self, refs: list[ev.ChargerRef]) -> str:
        return ", ".join(self.chargers.get(str(r.charger_id)) or r.name or r.serial_number
                         for r in refs)

    def key(self, key_id: object) -> str:
        """A charge key by type and id: "ISO14443 key 3f2a9c1d"."""
        return f"{self.key_types.get(str(key_id), 'charge')} key {str(key_id)[:8]}"

    def person(self, person: ev.Person) -> str:
        if person.user_id is not None and str(person.user_id) in self.users:
            return self.users[str(person.user_id)]
        return person.name or person.email


def _is_id(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def _named(names: dict[str, str], key: object, kind: str) -> str:
    if key is None:
        return f"unknown {kind}"
    return names.get(str(key)) or f"{kind} {str(key)[:8]}"


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
