"""The run's own database, dropped at the end: the one it is given, else a fresh one on
the shared server, else one on a PostgreSQL cluster of its own that a fault scenario may
restart or kill -9 without touching the machine's server."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from services.local.postgres import LocalPostgres, start_cluster
from services.local.tansu import free_port

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_url_from(*variables: str) -> str:
    """The first of these environment variables that is set, else the local server."""
    for name in variables:
        if url := os.environ.get(name):
            return url
    return DEFAULT_ADMIN_URL


@dataclass
class Database:
    url: str = ""
    """Given: used as it is, neither created nor dropped. Else set by `create()`."""
    admin_url: str = DEFAULT_ADMIN_URL
    prefix: str = "ca_harness"
    own_cluster: bool = False
    cluster_dir: Path | None = None
    """Where the own cluster lives; None: a throwaway folder, removed at the end."""
    cluster: LocalPostgres | None = None
    _name: str = ""
    _throwaway: Path | None = None

    def create(self, log_dir: Path) -> str:
        """Start the own cluster if asked, create the database; its URL."""
        if self.url:
            return self.url
        if self.own_cluster:
            data = self.cluster_dir
            if data is None:
                # Parents of the data dir must be traversable by `postgres` when we are root.
                self._throwaway = Path(tempfile.mkdtemp(prefix="harness-pg-"))
                self._throwaway.chmod(0o711)
                data = self._throwaway / "data"
            self.cluster = start_cluster(data, free_port(), log_dir / "postgres.log")
            self.admin_url = self.cluster.url()
        self._name = f"{self.prefix}_{uuid.uuid4().hex[:10]}"
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self._name)))
        self.url = f"{self.admin_url.rsplit('/', 1)[0]}/{self._name}"
        return self.url

    def drop(self) -> None:
        """Drop the database we created, stop the own cluster. Never raises."""
        if self.cluster is not None and not self.cluster.running:
            with contextlib.suppress(Exception):
                self.cluster.start()  # a scenario may have left it down
        if self._name:
            with contextlib.suppress(Exception):
                self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self._name)))
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.stop()
        if self._throwaway is not None:
            shutil.rmtree(self._throwaway, ignore_errors=True)

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)
