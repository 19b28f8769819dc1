"""A primary and a hot-standby streaming replica, both throwaway clusters from the local
PostgreSQL binaries, each on a port of its own: the primary takes the access service's
writes (`DATABASE_URL`), the replica serves a query API (`QUERY_DATABASE_URL`).

The replica is a `pg_basebackup` of the primary taken after the run's database was
created, so both hold it from the start; everything later arrives by WAL streaming.
Replay can be paused on the replica, to make it lag on purpose.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from harness.database import Database
from services.local.postgres import LocalPostgres, base_backup
from services.local.tansu import free_port

LAG_SQL = """
SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS behind_bytes,
       extract(epoch FROM replay_lag) AS replay_lag_s
FROM pg_stat_replication"""
"""On the primary: how far the replica's replay is behind, in WAL bytes and (as the
primary last heard from it) in seconds; `replay_lag` is NULL when it is idle and caught up."""


@dataclass
class ReplicatedDatabase:
    log_dir: Path
    primary: Database = field(default_factory=lambda: Database(prefix="ca_replica",
                                                               own_cluster=True))
    replica: LocalPostgres | None = None
    _throwaway: Path | None = None

    @property
    def url(self) -> str:
        """The run's database on the primary."""
        return self.primary.url

    @property
    def replica_url(self) -> str:
        assert self.replica is not None
        return self.replica.url(self.url.rsplit("/", 1)[1])

    def start(self) -> None:
        """Primary cluster and database, then the replica streaming from it, ready."""
        self.primary.create(self.log_dir)
        assert self.primary.cluster is not None
        # Parents of the data dir must be traversable by `postgres` when we are root.
        self._throwaway = Path(tempfile.mkdtemp(prefix="harness-replica-"))
        self._throwaway.chmod(0o711)
        data = self._throwaway / "data"
        base_backup(self.primary.cluster.port, data)
        self.replica = LocalPostgres(data, free_port(), self.log_dir / "replica.log")
        self.replica.start()

    async def connect_primary(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.url, timeout=10)

    async def connect_replica(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.replica_url, timeout=10)

    async def pause_replay(self) -> None:
        """Stop applying WAL on the replica (it still receives it): it lags from now."""
        conn = await self.connect_replica()
        try:
            await conn.execute("SELECT pg_wal_replay_pause()")
        finally:
            await conn.close()

    async def resume_replay(self) -> None:
        conn = await self.connect_replica()
        try:
            await conn.execute("SELECT pg_wal_replay_resume()")
        finally:
            await conn.close()

    def stop(self) -> None:
        """Stop the replica, drop the database and stop the primary. Never raises."""
        if self.replica is not None:
            with contextlib.suppress(Exception):
                self.replica.stop()
        self.primary.drop()
        if self._throwaway is not None:
            shutil.rmtree(self._throwaway, ignore_errors=True)
