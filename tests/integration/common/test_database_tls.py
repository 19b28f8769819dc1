"""PostgreSQL over TLS: `PGSSLMODE` (and `PGSSLROOTCERT`) in the environment reach every
kind of connection the services open, against a server that refuses anything else.

The three drivers are asyncpg (the pools of every service), psycopg (the event store,
through the eventsourcing library, which is given host, port and user, not the URL) and
libpq itself (the e-mail senders' hand-over marks). A cluster of this module's own,
with a self-signed certificate and a pg_hba that rejects connections without TLS; the
control connects without TLS and is refused, so the others' success means TLS.
"""

from __future__ import annotations

import logging
import os
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import eventsourcing.persistence
import psycopg
import pytest

from services.access.store.application import open_store
from services.local.postgres import LocalPostgres, ensure_database
from services.local.tansu import free_port
from services.notifications.privacy import RecipientKeys
from services.notifications.sent_log.hand_over import HandOverMarks
from services.notifications.sent_log.queue import SentLog
from tests.local_clusters import cluster_folder

pytestmark = pytest.mark.integration

HBA = """
hostssl all all 127.0.0.1/32 trust
host    all all 127.0.0.1/32 reject
"""

ENCRYPTED = """
SELECT coalesce(bool_and(s.ssl), false) AS all_tls, count(*) AS backends
FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
WHERE a.datname = current_database() AND a.backend_type = 'client backend'"""


@pytest.fixture(scope="module")
def tls_cluster() -> Iterator[tuple[LocalPostgres, Path]]:
    """A cluster that speaks TLS only; yields it and the certificate to trust."""
    with cluster_folder("ca-tls-") as base:
        server = LocalPostgres(base / "pg", free_port(), base / "pg.log")
        server.start()  # initialises the cluster; TLS is switched on below
        server.stop()
        data = server.data_dir
        cert = base / "root.crt"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(data / "server.key"), "-out", str(data / "server.crt")],
            check=True, capture_output=True)
        cert.write_bytes((data / "server.crt").read_bytes())
        subprocess.run(  # a certificate no server here has: trusting only it must fail
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-keyout", str(base / "stranger.key"),
             "-out", str(base / "stranger.crt")], check=True, capture_output=True)
        (data / "pg_hba.conf").write_text(HBA)
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        owner = (data / "PG_VERSION").stat()
        for name in ("server.key", "server.crt", "pg_hba.conf"):
            (data / name).chmod(0o600)
            _chown(data / name, owner.st_uid, owner.st_gid)
        server.start()
        try:
            yield server, cert
        finally:
            server.stop()


def _chown(path: Path, uid: int, gid: int) -> None:
    if os.geteuid() == 0:
        os.chown(path, uid, gid)


@pytest.fixture
def tls_env(tls_cluster: tuple[LocalPostgres, Path], monkeypatch: pytest.MonkeyPatch) -> str:
    server, cert = tls_cluster
    monkeypatch.setenv("PGSSLMODE", "verify-full")
    monkeypatch.setenv("PGSSLROOTCERT", str(cert))
    url = server.url("tls_check")
    ensure_database(url)
    return url


async def test_without_tls_the_server_refuses(
    tls_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGSSLMODE", "disable")
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="reject"):
        await asyncpg.connect(tls_env)


async def test_every_driver_checks_the_servers_certificate(
    tls_env: str, tls_cluster: tuple[LocalPostgres, Path], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Trusting another certificate, each kind of connection refuses the server: so each
    reads `PGSSLMODE=verify-full` and `PGSSLROOTCERT` from the environment."""
    _server, cert = tls_cluster
    caplog.set_level(logging.DEBUG, logger="psycopg")
    monkeypatch.setenv("PGSSLROOTCERT", str(cert.with_name("stranger.crt")))
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncpg.connect(tls_env)
    with pytest.raises(eventsourcing.persistence.OperationalError):
        open_store(tls_env, pool_size=1)  # its pool gives up, having logged why
    assert "certificate verify failed" in caplog.text
    marks = HandOverMarks(tls_env)
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        await marks.ready()


async def test_every_kind_of_connection_goes_over_tls(tls_env: str) -> None:
    pool = await asyncpg.create_pool(tls_env, min_size=1, max_size=2)
    try:
        # asyncpg, as every service's pool connects.
        assert await pool.fetchval(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is True
        # The event store (eventsourcing on psycopg), given the URL's parts only.
        store = open_store(tls_env, pool_size=1)
        with store.factory.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            row = conn.execute(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
        assert row is not None
        assert row["ssl"] is True
        # libpq: the e-mail senders' hand-over marks.
        sent_log = SentLog(pool, RecipientKeys(b"tls-test"), database_url=tls_env)
        await sent_log.create_schema()
        marks = sent_log.hand_over_marks()
        await marks.ready()
        try:
            row = await pool.fetchrow(ENCRYPTED)
        finally:
            await marks.close()
        store.close()
        assert row is not None
        assert row["all_tls"] is True
        assert row["backends"] >= 3  # the pool's, the store's and the marks' at least
    finally:
        await pool.close()
