"""The net row changes of a batch: the last state of every read-model row it touches.

A fold fills a `BatchChanges` in memory (later events override earlier ones, key by
key); the table writers then send each table's rows in a few set-based statements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from charger_access_client import access_events as ev
from charger_access_client.envelope import EventEnvelope
from services.access.eventlog.values import EventHead

Head = EventHead | EventEnvelope
"""What a folder reads besides the event: id, type, time, actor, command id."""


@dataclass
class UserRow:
    user_id: UUID
    email: str
    phone: str | None
    name: str | None
    locale: str


@dataclass
class GroupRow:
    group_id: UUID
    name: str
    owner_id: UUID
    personal: bool


@dataclass
class ChargerPatch:
    """A charger's new fields; `None` means "unchanged". `created` carries the full row."""

    charger_id: UUID
    created: bool = False
    serial_number: str | None = None
    name: str | None = None
    group_id: UUID | None = None
    owner_id: UUID | None = None
    connected: bool | None = None


@dataclass
class ShareRow:
    """A share as granted. A time-bound one has a window (`valid_from`, `valid_until`,
    `schedule`, all None for a permanent share) and whether it was in effect as of
    `effect_at`: its grant, or its last boundary event."""

    level: str
    why: dict[str, Any]
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    schedule: dict[str, Any] | None = None
    in_effect: bool = True
    effect_at: datetime | None = None


@dataclass
class ShareEffect:
    """A boundary event's change to a share granted in an earlier batch."""

    in_effect: bool
    effect_at: datetime


@dataclass
class InvitationPatch:
    """An invitation's new fields; `None` means "unchanged". `created` carries the full row."""

    invitation_id: UUID
    created: bool = False
    email: str | None = None
    level: str | None = None
    locale: str | None = None
    chargers: list[dict[str, Any]] | None = None
    inviter_id: UUID | None = None
    status: str | None = None
    expires_at: datetime | None = None
    invited_at: datetime | None = None
    updated_at: datetime | None = None
    responded_by: UUID | None = None
    revoke_reason: str | None = None
    window_set: bool = False
    """Whether the three window fields below are set (each send sets them exactly)."""
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    schedule: dict[str, Any] | None = None


@dataclass
class ChargeKeyRow:
    """A live charge key as added; `blocked` as of the batch's end."""

    key_id: UUID
    user_id: UUID
    id_token: str
    type: str
    label: str | None
    added_at: datetime
    blocked: bool = False


@dataclass
class HistoryRow:
    """One line of a charger's audit timeline; `charger_id` None = the invitation's chargers."""

    charger_id: UUID | None
    invitation_id: UUID | None
    position: int
    envelope: Head
    details: dict[str, Any]


@dataclass
class BatchChanges:
    users: dict[UUID, UserRow] = field(default_factory=dict)
    groups: dict[UUID, GroupRow] = field(default_factory=dict)
    members: dict[tuple[UUID, UUID], str | None] = field(default_factory=dict)
    chargers: dict[UUID, ChargerPatch] = field(default_factory=dict)
    shares: dict[tuple[UUID, UUID], ShareRow | None] = field(default_factory=dict)
    share_effects: dict[tuple[UUID, UUID], ShareEffect] = field(default_factory=dict)
    """Boundaries of shares this batch did not grant or revoke (disjoint from `shares`)."""
    invitations: dict[UUID, InvitationPatch] = field(default_factory=dict)
    history: list[HistoryRow] = field(default_factory=list)
    touched_chargers: set[UUID] = field(default_factory=set)
    """Chargers whose owner or group changed: every access row on them is recomputed."""
    touched_pairs: set[tuple[UUID, UUID]] = field(default_factory=set)
    """(charger, user) pairs whose share changed: only that row is recomputed."""
    touched_memberships: set[tuple[UUID, UUID]] = field(default_factory=set)
    """(group, user) pairs whose role changed: that user's rows on the group's chargers."""
    charge_keys: dict[UUID, ChargeKeyRow | None] = field(default_factory=dict)
    """Keys added (the row) or removed (None) in this batch."""
    key_blocks: dict[UUID, bool] = field(default_factory=dict)
    """Blocked or unblocked keys added in an earlier batch (disjoint from `charge_keys`)."""
    touched_key_users: set[UUID] = field(default_factory=set)
    """Users whose keys were added, blocked, unblocked or removed."""
    skipped_types: set[str] = field(default_factory=set)
    forgotten: list[ev.UserForgotten] = field(default_factory=list)
    """Users whose personal data every table must drop (after this batch's writes)."""
