"""Writing a folded batch into the read models: every table's writer, in dependency order.

Rows first (users, groups, chargers, shares, invitations), then the history that joins
invitations, then the access rows recomputed from the tables just written, and last the
scrubbing of anyone the batch forgot.
"""

from __future__ import annotations

from services.access.projection.changes import BatchChanges
from services.access.projection.forgetting import scrub_forgotten
from services.access.projection.sql import Connection
from services.access.projection.tables.access import recompute_access
from services.access.projection.tables.chargers import write_chargers
from services.access.projection.tables.groups import write_groups
from services.access.projection.tables.history import copy_history, write_history
from services.access.projection.tables.invitations import write_invitations
from services.access.projection.tables.shares import write_shares
from services.access.projection.tables.users import write_users


async def write_changes(
    conn: Connection, changes: BatchChanges, schema: str, *, defer_access: bool = False
) -> None:
    """Apply the net row changes; the caller holds the transaction.

    `defer_access` is a rebuild's mode: the access recompute is skipped (the rebuild
    computes it once, at the end) and history rows are copied in rather than upserted
    (the staging tables start empty and each position is applied once).
    """
    s = schema
    await write_users(conn, s, changes)
    await write_groups(conn, s, changes)
    await write_chargers(conn, s, changes)
    await write_shares(conn, s, changes)
    await write_invitations(conn, s, changes)
    if defer_access:
        await copy_history(conn, s, changes)
    else:
        await write_history(conn, s, changes)
        await recompute_access(conn, s, changes)
    for forgotten in changes.forgotten:
        await scrub_forgotten(conn, s, forgotten)
