"""The parts `make run` starts on this machine: mail catcher, own PostgreSQL, supervisor."""

from __future__ import annotations

import contextlib
import os
import signal
import smtplib
import socket
import stat
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest

from services.local.infra import script, token_secret
from services.local.postgres import LocalPostgres, ensure_database, start_cluster
from services.local.smtp_catcher import start_catcher
from services.local.supervisor import Supervisor
from services.local.tansu import free_port, wait_for_port

pytestmark = pytest.mark.integration


def invitation(to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "noreply@charger-access.test"
    message["To"] = to
    message["Subject"] = "Invitation à recharger"
    message.set_content("Follow https://example.test/invitations/1/accept?token=abc")
    return message


def wait_for_files(folder: Path, pattern: str, count: int = 1, timeout: float = 10.0) -> list[Path]:
    deadline = time.monotonic() + timeout
    while len(found := sorted(folder.glob(pattern))) < count:
        assert time.monotonic() < deadline, f"{len(found)} of {count} files in {folder}"
        time.sleep(0.05)
    return found


def test_smtp_catcher_writes_each_message_as_a_parsable_eml(tmp_path: Path) -> None:
    port = free_port()
    controller = start_catcher(tmp_path / "mail", port=port)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.send_message(invitation("Ola@Example.test"))
            client.send_message(invitation("kari@example.test"))
        files = wait_for_files(tmp_path / "mail", "*.eml", count=2)
    finally:
        controller.stop()

    parsed = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert [m["X-Envelope-To"] for m in parsed] == ["Ola@Example.test", "kari@example.test"]
    assert parsed[0]["Subject"] == "Invitation à recharger"
    body = parsed[0].get_body(("plain",))
    assert body is not None
    assert "accept?token=abc" in body.get_content()
    assert not list((tmp_path / "mail").glob(".*.part")), "no half-written files left"


def test_smtp_catcher_console_script_logs_each_message_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [script("smtp-catcher"), "--port", str(port), "--mail-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port("127.0.0.1", port)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.send_message(invitation("ola@example.test"))
        wait_for_files(tmp_path, "*.eml")
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)

    assert process.returncode == 0
    lines = [line for line in output.decode().splitlines() if "mail from" in line]
    assert len(lines) == 1
    assert "ola@example.test" in lines[0]
    assert "token=" not in output.decode(), "bodies (with tokens) are never logged"


def port_refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return True
    return False


def test_local_postgres_keeps_committed_data_across_kill_9_and_restart(cluster_dir: Path) -> None:
    cluster = start_cluster(cluster_dir / "pg", free_port(), cluster_dir / "pg.log")
    try:
        url = cluster.url("faults")
        assert ensure_database(url) is True
        assert ensure_database(url) is False, "a second call finds the database"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE grants (id int PRIMARY KEY)")
            conn.execute("INSERT INTO grants VALUES (1), (2)")

        # A crash: postmaster and backends die at once, no shutdown checkpoint.
        cluster.kill()
        assert cluster.process is not None
        assert cluster.process.returncode == -signal.SIGKILL
        assert port_refuses(cluster.port)

        cluster.start()  # crash recovery replays the WAL
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT id FROM grants ORDER BY id").fetchall()
        assert rows == [(1,), (2,)]
        assert "not properly shut down" in (cluster_dir / "pg.log").read_text()
    finally:
        cluster.stop()
    assert not cluster.running
    assert port_refuses(cluster.port)


def gone(pid: int) -> bool:
    """No such process, or only its zombie (dead, not yet reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_kill_9_takes_busy_backends_with_it_and_a_start_follows_at_once(
    cluster_dir: Path,
) -> None:
    """Backends lead process groups of their own and a busy one notices its postmaster's
    death only when it next waits; while one lives, its shared memory bars a start
    (the `postgres-restart` fault scenario once failed so)."""
    cluster = start_cluster(cluster_dir / "pg", free_port(), cluster_dir / "pg.log")
    url = cluster.url("postgres")
    busy = psycopg.connect(url, autocommit=True)
    backend = busy.info.backend_pid
    try:

        def spin() -> None:
            with contextlib.suppress(psycopg.Error):  # cut by the kill
                busy.execute("SELECT count(*) FROM generate_series(1, 10000000000)")

        spinner = threading.Thread(target=spin, daemon=True)
        spinner.start()
        with psycopg.connect(url, autocommit=True) as watcher:
            while not watcher.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND state = 'active'",
                (backend,),
            ).fetchone():
                time.sleep(0.02)
        cluster.kill()
        assert gone(backend)
        cluster.start()  # at once: no backend of the killed server holds its memory
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        spinner.join(10)
    finally:
        cluster.stop()
        if not gone(backend):  # the bug back: leave no orphan spinning for minutes
            os.kill(backend, signal.SIGKILL)


def test_local_postgres_restart_reuses_the_cluster(cluster_dir: Path) -> None:
    cluster = LocalPostgres(cluster_dir / "pg", free_port())
    cluster.start()
    try:
        first_pid = cluster.process.pid if cluster.process else None
        cluster.restart()
        assert cluster.process is not None
        assert cluster.process.pid != first_pid
        with psycopg.connect(cluster.url()) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        cluster.stop()


def python_child(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_supervisor_reports_a_dying_child_and_stops_the_others(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sup = Supervisor()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    sleeper = sup.spawn("sleeper", python_child("import time; time.sleep(60)"), env)
    dier = sup.spawn("dier", python_child("print('bye'); raise SystemExit(3)"), env)
    try:
        assert sup.first_death() is dier
    finally:
        sup.stop_all(timeout=5)
    assert dier.process.returncode == 3
    assert sleeper.process.returncode == -signal.SIGTERM
    time.sleep(0.2)  # the log pump thread prints asynchronously
    assert "dier | bye" in capsys.readouterr().out


def test_supervisor_kills_a_child_that_ignores_sigterm() -> None:
    sup = Supervisor()
    stubborn = sup.spawn("stubborn", python_child(
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)"
    ), dict(os.environ))
    time.sleep(0.5)  # let it install its handler
    started = time.monotonic()
    sup.stop_all(timeout=1)
    assert stubborn.process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_token_secret_is_generated_once_and_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TOKEN_SECRET", raising=False)
    first = token_secret(tmp_path)
    assert len(first) >= 32
    assert token_secret(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "token-secret").stat().st_mode) == 0o600
