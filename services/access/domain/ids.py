"""Aggregate ids.

Users, chargers and invitations use the client's UUID as their aggregate id. A group's
aggregate id is derived (a personal group shares its id with its user), and so are the
uniqueness indexes: a deterministic id per normalised key means two commands claiming
the same e-mail, phone or serial race on the same aggregate and only one can win.
"""

from __future__ import annotations

from uuid import UUID, uuid5

ID_NAMESPACE = UUID("6f3c1a52-8d0e-4c4e-9a57-5b2f7c1d9e10")
"""The uuid5 namespace of every derived id; the event log derives published event ids
faster by hand in the same space (`eventlog.values.event_id`)."""


def group_aggregate_id(group_id: UUID) -> UUID:
    return uuid5(ID_NAMESPACE, f"group:{group_id}")


def email_index_id(email: str) -> UUID:
    return uuid5(ID_NAMESPACE, f"email:{email.strip().lower()}")


def phone_index_id(phone: str) -> UUID:
    return uuid5(ID_NAMESPACE, f"phone:{phone}")


def serial_index_id(serial_number: str) -> UUID:
    return uuid5(ID_NAMESPACE, f"serial:{serial_number.strip().upper()}")


def charge_key_index_id(key_type: str, id_token: str) -> UUID:
    """One claim per type and token, whatever the case the token was written in."""
    return uuid5(ID_NAMESPACE, f"charge_key:{key_type}:{id_token.strip().upper()}")


def published_event_id(originator_id: UUID, originator_version: int) -> UUID:
    """Stable across re-publishing, so consumers can dedupe on it."""
    return uuid5(ID_NAMESPACE, f"event:{originator_id}:{originator_version}")
