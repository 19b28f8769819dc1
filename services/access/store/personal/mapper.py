"""The store's mapper: seals personal data on the way in, opens it on the way out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from services.access.store.personal.fields import protect, reveal
from services.access.store.personal.sealing import subjects_in


class KeyRing(Protocol):
    def key_for(self, subject: UUID) -> tuple[UUID, bytes] | None: ...

    def lookup(self, subjects: Iterable[UUID]) -> dict[UUID, bytes]: ...


class PersonalDataMapper(Mapper[UUID]):
    def __init__(self, transcoder: Transcoder, keyring: KeyRing) -> None:
        super().__init__(transcoder=transcoder)
        self.keyring = keyring

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        name = type(domain_event).__qualname__
        state = protect(name, dict(vars(domain_event)), domain_event.originator_id,
                        self.keyring.key_for)
        sealed = object.__new__(type(domain_event))
        object.__setattr__(sealed, "__dict__", state)
        return super().to_stored_event(sealed)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        keys = self.keyring.lookup(subjects_in([stored_event.state]))
        event: Any = super().to_domain_event(stored_event)
        reveal(vars(event), keys)
        return event  # type: ignore[no-any-return]
