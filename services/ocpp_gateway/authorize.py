"""`Authorize` from a charger, decided by the access service's rules (`api/authorize.py`)
on the read model, at the moment asked: the key the token names, then its user's access
row on this charger. Worded per OCPP version by the dialect."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from charger_access_client.keys import normalise_id_token
from services.access.api.authorize import Authorization, authorize
from services.access.api.repositories.access import AccessRepository
from services.access.api.repositories.charge_keys import ChargeKeyRepository


class Authorizer:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self._keys = ChargeKeyRepository(pool, schema)
        self._access = AccessRepository(pool, schema)

    async def decide(self, charger_id: UUID, token: str, key_type: str | None) -> Authorization:
        """`key_type` None (OCPP 1.6): a key of any type matches, an RFID card's first."""
        now = datetime.now(UTC)
        key = await self._keys.shown(normalise_id_token(token), key_type)
        if key is None or key.blocked:
            return authorize(None if key is None else True, None, now)
        effective = await self._access.effective(key.user_id, charger_id)
        return authorize(False, effective.why, now)
