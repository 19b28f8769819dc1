"""Who an id is, as the log had said so far: the names an auditor's sentence uses.

A `Directory` is fed every event before the one described (users, groups, chargers as
they were then, an invitation's address, a share's window, a key's type); an id nobody
named yet is shown shortened, so a sentence never fails. The timeline's index
(`name_positions`) keeps the positions of the `NAMING_TYPES` events per id, so a page
teaches its directory only the names it uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from charger_access_client import access_events as ev
from charger_access_client.envelope import EventEnvelope
from services.access.domain.windows import Window

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
