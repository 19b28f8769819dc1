"""What the services' asyncpg pools share."""

from __future__ import annotations

import asyncpg


async def keep_session(_conn: asyncpg.Connection) -> None:
    """The pools' reset on release: nothing beyond asyncpg's own rollback of an open
    transaction. The default also sends `RESET ALL; UNLISTEN *; ...`, a round trip and a
    socket write per release, which doubled the database work of an access check and of
    each e-mail's claim and outcome. Nothing the services run leaves session state on a
    pooled connection: LISTEN has a connection of its own, advisory locks are unlocked in
    `finally`, planner settings are transaction-local."""
