"""Holding the access service's lead, so the instance the bench starts stands by.

A standby serves the query API from the read models (rebuilt to the log's head) and runs
no relay, local-list publisher or scheduler, so the reads can be asked of a fleet whose
catch-up on a new broker would take longer than the bench can wait (10 M events: ~19 M
list versions). The lock is the one `services.common.leadership` takes for the
followers of the consumer-group prefix the bench gives the system.
"""

from __future__ import annotations

import psycopg

from services.common.leadership import lock_key


class HeldLead:
    def __init__(self, database_url: str, prefix: str) -> None:
        self._conn: psycopg.Connection[tuple[object, ...]] | None = psycopg.connect(
            database_url, autocommit=True)
        self._conn.execute("SELECT pg_advisory_lock(%s)", (lock_key(f"{prefix}-followers"),))

    def release(self) -> None:
        """Let the lead go: the system's access service takes it and catches up."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
