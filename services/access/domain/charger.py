"""A charger: where it belongs, who owns it, and who has a share on it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.access.domain.base import AccessAggregate, Cause
from services.access.domain.windows import Window, changes, in_effect, next_change


class Charger(AccessAggregate):
    class ChargerRegistered(AccessAggregate.Event, Aggregate.Created):
        """v2 added `connected` (transfers can drop the cloud connection); v1 chargers were
        all connected."""

        class_version = 2
        charger_id: UUID
        serial_number: str
        name: str | None
        group_id: UUID
        owner_id: UUID
        connected: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["connected"] = True

    class AccessGranted(AccessAggregate.Event):
        """v2 carries the share's window (`valid_from`, `valid_until`, `schedule`, all None
        for a permanent share); v1 shares were all permanent."""

        class_version = 2
        charger_id: UUID
        user_id: UUID
        level: str
        source: dict[str, Any]
        valid_from: datetime | None
        valid_until: datetime | None
        schedule: dict[str, Any] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(valid_from=None, valid_until=None, schedule=None)

        def apply(self, aggregate: Any) -> None:
            user = str(self.user_id)
            aggregate.shares[user] = self.level
            aggregate.forget_window(user)
            window = Window.from_data(vars(self))
            if not window.permanent:
                aggregate.windows[user] = window.to_data()
                aggregate.granted_at[user] = self.timestamp.isoformat()
                aggregate.effect[user] = {"in_effect": in_effect(window, self.timestamp),
                                          "at": self.timestamp.isoformat()}

    class AccessRevoked(AccessAggregate.Event):
        charger_id: UUID
        user_id: UUID
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.shares.pop(str(self.user_id), None)
            aggregate.forget_window(str(self.user_id))

    class ShareCameIntoEffect(AccessAggregate.Event):
        """A time-bound share's boundary, appended by the scheduler at or after `at`."""

        charger_id: UUID
        user_id: UUID
        level: str
        at: datetime

        def apply(self, aggregate: Any) -> None:
            aggregate.effect[str(self.user_id)] = {"in_effect": True, "at": self.at.isoformat()}

    class ShareWentOutOfEffect(AccessAggregate.Event):
        """`ended`: it will never be in effect again (`valid_until` reached)."""

        charger_id: UUID
        user_id: UUID
        level: str
        at: datetime
        ended: bool

        def apply(self, aggregate: Any) -> None:
            aggregate.effect[str(self.user_id)] = {"in_effect": False, "at": self.at.isoformat()}

    class ShareEnding(AccessAggregate.Event):
        """The notice before a share's `valid_until` (one e-mail to its holder)."""

        charger_id: UUID
        user_id: UUID
        level: str
        valid_until: datetime
        at: datetime
        user: dict[str, Any]
        charger: dict[str, Any]
        time_zone: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.ending_noticed[str(self.user_id)] = self.valid_until.isoformat()

    class PendingInvitationsChanged(AccessAggregate.Event):
        """Which invitations still wait on this charger (internal bookkeeping)."""

        PUBLISHED = False
        added: list[str]
        removed: list[str]

        def apply(self, aggregate: Any) -> None:
            for invitation_id in self.removed:
                aggregate.pending_invitations.pop(invitation_id, None)
            for invitation_id in self.added:
                aggregate.pending_invitations[invitation_id] = True

    class ChargerMovedToGroup(AccessAggregate.Event):
        charger_id: UUID
        from_group_id: UUID
        to_group_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.group_id = self.to_group_id

    class ChargerOwnershipTransferred(AccessAggregate.Event):
        """v2 names the previous owner (`from_owner`) so the e-mail can say who gave it."""

        class_version = 2
        charger_id: UUID
        charger: dict[str, Any]
        from_owner_id: UUID
        to_owner: dict[str, Any]
        from_owner: dict[str, Any] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["from_owner"] = None

        def apply(self, aggregate: Any) -> None:
            aggregate.owner_id = self.to_owner["user_id"]

    class ChargerTransferredToUser(AccessAggregate.Event):
        charger_id: UUID
        charger: dict[str, Any]
        from_owner: dict[str, Any]
        to_user: dict[str, Any]
        from_group_id: UUID
        to_group_id: UUID
        connected: bool

        def apply(self, aggregate: Any) -> None:
            aggregate.owner_id = self.to_user["user_id"]
            aggregate.group_id = self.to_group_id
            aggregate.connected = self.connected

    def __init__(
        self, *, charger_id: UUID, serial_number: str, name: str | None, group_id: UUID,
        owner_id: UUID, connected: bool, actor: str, command_id: str,
    ) -> None:
        self.charger_id = charger_id
        self.serial_number = serial_number
        self.name = name
        self.group_id = group_id
        self.owner_id = owner_id
        self.connected = connected
        self.shares: dict[str, str] = {}
        # Time-bound shares only (a permanent share has none of these), by user id:
        self.windows: dict[str, dict[str, Any]] = {}
        """`Window.to_data()` of the share."""
        self.effect: dict[str, dict[str, Any]] = {}
        """{"in_effect": bool, "at": iso}: as of the grant or the last boundary event."""
        self.granted_at: dict[str, str] = {}
        self.ending_noticed: dict[str, str] = {}
        """The `valid_until` (iso) whose ShareEnding notice was appended."""
        self.pending_invitations: dict[str, bool] = {}

    @classmethod
    def register(
        cls, charger_id: UUID, serial_number: str, name: str | None, group_id: UUID,
        owner_id: UUID, cause: Cause,
    ) -> Charger:
        return cls._create(
            cls.ChargerRegistered, id=charger_id, charger_id=charger_id,
            serial_number=serial_number, name=name, group_id=group_id, owner_id=owner_id,
            connected=True, **cause.stamp(),
        )

    def ref(self) -> dict[str, Any]:
        """How e-mails and events name this charger."""
        return {"charger_id": self.charger_id, "name": self.name,
                "serial_number": self.serial_number}

    def window_of(self, user_id: UUID | str) -> Window:
        """The window of the user's share (`PERMANENT` when it has none, or there is none)."""
        return Window.from_data(self.windows.get(str(user_id)))

    def forget_window(self, user: str) -> None:
        for state in (self.windows, self.effect, self.granted_at, self.ending_noticed):
            state.pop(user, None)

    def grant(
        self, user_id: UUID, level: str, window: Window, source: dict[str, Any], cause: Cause,
    ) -> bool:
        """Give `user_id` a share at `level` in `window`; False when they already had
        exactly that."""
        if self.shares.get(str(user_id)) == level and self.window_of(user_id) == window:
            return False
        self.trigger_event(self.AccessGranted, charger_id=self.charger_id, user_id=user_id,
                           level=level, source=source, **window.event_fields(),
                           **cause.stamp())
        return True

    def mark_boundaries(self, user_id: UUID, now: datetime, cause: Cause) -> int:
        """Append, in order and with their nominal times, the share's boundaries since the
        last one recorded, up to `now`; how many. Nothing due, nothing appended: calling it
        again (another scheduler instance, a retry) adds nothing."""
        user = str(user_id)
        effect = self.effect.get(user)
        if effect is None:
            return 0
        window = self.window_of(user)
        count = 0
        for at, on in changes(window, datetime.fromisoformat(effect["at"]), now):
            if on:
                self.trigger_event(self.ShareCameIntoEffect, charger_id=self.charger_id,
                                   user_id=user_id, level=self.shares[user], at=at,
                                   **cause.stamp())
            else:
                self.trigger_event(self.ShareWentOutOfEffect, charger_id=self.charger_id,
                                   user_id=user_id, level=self.shares[user], at=at,
                                   ended=next_change(window, at) is None, **cause.stamp())
            count += 1
        return count

    def notice_ending(
        self, user: dict[str, Any], now: datetime, notice: timedelta, cause: Cause,
    ) -> bool:
        """Append the ShareEnding notice of `user`'s share when it is due at `now`; False
        when not due, already given for this `valid_until`, or not to be given at all."""
        uid = str(user["user_id"])
        due = self.ending_due(uid, notice)
        if due is None or now < due:
            return False
        window = self.window_of(uid)
        assert window.valid_until is not None  # ending_due says so
        if now >= window.valid_until or (not in_effect(window, now)
                                         and next_change(window, now) is None):
            return False  # it ended first
        self.trigger_event(self.ShareEnding, charger_id=self.charger_id, user_id=user["user_id"],
                           level=self.shares[uid], valid_until=window.valid_until, at=due,
                           user=user, charger=self.ref(),
                           time_zone=window.schedule.time_zone if window.schedule else None,
                           **cause.stamp())
        return True

    def ending_due(self, user_id: UUID | str, notice: timedelta) -> datetime | None:
        """When the share's ShareEnding notice is due (`valid_until` less `notice`); None
        when it has no end, was noticed for this end already, or was granted already that
        close to its end (its invitation or access e-mail stated the end)."""
        user = str(user_id)
        end = self.window_of(user).valid_until
        noticed = self.ending_noticed.get(user)
        if end is None or (noticed is not None and datetime.fromisoformat(noticed) == end):
            return None
        due = end - notice
        if datetime.fromisoformat(self.granted_at[user]) >= due:
            return None
        return due

    def next_boundary(self, user_id: UUID | str) -> datetime | None:
        """The next instant `mark_boundaries` has something to append for (None: never)."""
        effect = self.effect.get(str(user_id))
        if effect is None:
            return None
        return next_change(self.window_of(user_id), datetime.fromisoformat(effect["at"]))

    def revoke(self, user_id: UUID, reason: str, cause: Cause) -> bool:
        if str(user_id) not in self.shares:
            return False
        self.trigger_event(self.AccessRevoked, charger_id=self.charger_id, user_id=user_id,
                           reason=reason, **cause.stamp())
        return True

    def note_invitations(self, added: list[str], removed: list[str], cause: Cause) -> None:
        removed = [i for i in removed if i in self.pending_invitations]
        if added or removed:
            self.trigger_event(self.PendingInvitationsChanged, added=added, removed=removed,
                               **cause.stamp())
