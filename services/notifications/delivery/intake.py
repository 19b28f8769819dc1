"""What a record on `access.events` means for e-mail: its envelope, whether it forgets
someone, and the e-mails it causes with their sent-log claims.

Both ways into the deliverer use it: the consumer for each new record, the retry loop to
derive a queued e-mail again from its stored envelope. A record that is not ours, or not
valid, is counted skipped and logged without echoing it (it may hold personal data).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from pydantic import ValidationError

from charger_access_client.access_events import UserForgotten
from charger_access_client.envelope import EventEnvelope
from services.notifications.delivery.attempts import Outgoing
from services.notifications.delivery.health import Stats
from services.notifications.mail.message import message_id
from services.notifications.mail.recipients import (
    Notification,
    UnknownEventError,
    notifications_for,
)
from services.notifications.ports import Claim
from services.notifications.privacy import Forgetting, RecipientKeys

log = logging.getLogger(__name__)


@dataclass
class Intake:
    """Reads records into envelopes and e-mails; `stats` counts what it skips."""

    keys: RecipientKeys
    stats: Stats

    def parse(self, value: bytes | None) -> EventEnvelope | None:
        try:
            return EventEnvelope.model_validate_json(value or b"")
        except (ValidationError, ValueError) as error:
            self.stats.skipped_records += 1
            log.warning("skipping a record on access.events: %s", _brief(error))
            return None

    def forgotten(self, envelope: EventEnvelope) -> Forgetting | None:
        if envelope.type != UserForgotten.__name__:
            return None
        try:
            event = UserForgotten.model_validate(envelope.data)
        except ValidationError as error:
            self.stats.skipped_records += 1
            log.warning("skipping a UserForgotten record: %s", _brief(error))
            return None
        return Forgetting(event.user_id, event.pseudonym_email, event.pseudonym_name)

    def outgoing(self, value: bytes | None) -> list[Outgoing]:
        envelope = self.parse(value)
        return [] if envelope is None else self.outgoing_of(envelope)

    def outgoing_of(self, envelope: EventEnvelope) -> list[Outgoing]:
        try:
            notifications = notifications_for(envelope)
        except (ValidationError, UnknownEventError, ValueError) as error:
            self.stats.skipped_records += 1
            log.warning("skipping a record on access.events: %s", _brief(error))
            return []
        stored = envelope.model_dump_json() if notifications else ""
        return [
            Outgoing(n, self.claim(n, envelope.type, stored, envelope.sequence))
            for n in notifications
        ]

    def claim(
        self, notification: Notification, event_type: str, stored: str, sequence: int
    ) -> Claim:
        key = self.keys(notification.recipient)
        return Claim(
            sequence=sequence,
            event_id=notification.event_id,
            recipient=key,
            kind=notification.kind,
            event_type=event_type,
            message_id=message_id(notification.event_id, key),
            envelope=stored,
            user_id=notification.to.user_id,
        )


def _brief(error: Exception) -> str:
    """A short reason for the log, without echoing the record (it may hold personal data)."""
    if isinstance(error, ValidationError):
        return json.dumps([{"loc": e["loc"], "type": e["type"]} for e in error.errors()])
    if isinstance(error, UnknownEventError):
        return f"unknown event type {str(error)[:100]!r}"
    return type(error).__name__
