"""Which charger a connection is: its serial number looked up in the read model, the only
register of chargers the gateway trusts (an unknown serial number is refused)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.access.projection.sql import render

_BY_SERIAL = "SELECT charger_id FROM {s}.chargers WHERE serial_number = $1 LIMIT 1"


class ChargerDirectory:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self._pool = pool
        self._by_serial = render(_BY_SERIAL, schema)

    async def charger_id(self, serial_number: str) -> UUID | None:
        """The registered charger with this serial number; None when there is none."""
        found = await self._pool.fetchval(self._by_serial, serial_number)
        return None if found is None else UUID(str(found))
