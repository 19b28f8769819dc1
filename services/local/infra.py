"""What `make run` brings up before the services, each part only when its variable is unset.

SPEC "Configuration": with DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS / SMTP_URL set we use
them and start nothing. Each `provide_*` returns the variables to export to the services
and hands any process it started to the supervisor, so it is stopped with the rest.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sys
from pathlib import Path

from services.common.config import DEFAULT_DATABASE_URL, DEV_API_TOKEN, DEV_ENV
from services.local.postgres import LocalPostgres, ensure_database
from services.local.supervisor import Child, Supervisor, say
from services.local.tansu import free_port, spawn_tansu, wait_for_port


def tcp_answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def preferred_port(port: int) -> int:
    """`port` when we may bind it, else any free one (a second `make run`, another broker)."""
    return port if port_is_free(port) else free_port()


def script(name: str) -> str:
    """A console script of this environment (next to its python), e.g. `access-service`."""
    return str(Path(sys.executable).parent / name)


def provide_database(sup: Supervisor, var: Path) -> dict[str, str]:
    """DATABASE_URL as given, else the local server, else a cluster of our own in var/pg."""
    url = os.environ.get("DATABASE_URL")
    if url is None:
        url = DEFAULT_DATABASE_URL
        if not tcp_answers("127.0.0.1", 5432):
            cluster = LocalPostgres(var / "pg", preferred_port(5432), var / "log" / "postgres.log")
            say("run", f"no PostgreSQL on 127.0.0.1:5432: starting one in {cluster.data_dir}")
            cluster.start()
            assert cluster.process is not None
            sup.adopt(Child("postgres", cluster.process, on_stop=cluster.stop))
            url = cluster.url("charger_access")
    if ensure_database(url):
        say("run", f"created database {url.rsplit('/', 1)[-1]}")
    return {"DATABASE_URL": url}


def provide_broker(sup: Supervisor, var: Path) -> dict[str, str]:
    """KAFKA_BOOTSTRAP_SERVERS as given, else a Tansu broker of ours (memory storage)."""
    if servers := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return {"KAFKA_BOOTSTRAP_SERVERS": servers}
    port = preferred_port(9092)
    log_path = var / "log" / "tansu.log"
    sup.adopt(Child("tansu", spawn_tansu(port, log_path)))
    wait_for_port("127.0.0.1", port)
    say("run", f"Tansu broker on 127.0.0.1:{port} (log: {log_path})")
    return {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"}


def provide_smtp(sup: Supervisor, var: Path, env: dict[str, str]) -> dict[str, str]:
    """SMTP_URL as given, else our catcher writing .eml files into var/mail."""
    if url := os.environ.get("SMTP_URL"):
        return {"SMTP_URL": url}
    port = preferred_port(1025)
    sup.spawn("smtp-catcher", [script("smtp-catcher"), "--port", str(port),
                               "--mail-dir", str(var / "mail")], env)
    wait_for_port("127.0.0.1", port)
    return {"SMTP_URL": f"smtp://127.0.0.1:{port}"}


def token_secret(var: Path) -> str:
    """TOKEN_SECRET as given, else one generated once and kept in var/token-secret (0600)."""
    if secret := os.environ.get("TOKEN_SECRET"):
        return secret
    path = var / "token-secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def provide_settings(var: Path) -> dict[str, str]:
    """Secrets and API defaults; the dev token is announced since it is the way in."""
    port = os.environ.get("API_PORT", "8000")
    tokens = os.environ.get("API_TOKENS")
    if tokens is None:
        tokens = DEV_API_TOKEN
        say("run", f"API_TOKENS unset: the query API accepts the bearer token '{tokens}'")
    if not (os.environ.get("PERSON_KEY_KEK") or os.environ.get("PERSON_KEY_KEK_FILE")):
        say("run", "PERSON_KEY_KEK unset: person keys are wrapped by the public development "
                   "KEK, which protects nothing (docs/security.md)")
    return {
        "APP_ENV": os.environ.get("APP_ENV", DEV_ENV),  # development KEK and token allowed
        "TOKEN_SECRET": token_secret(var),
        "API_TOKENS": tokens,
        "API_PORT": port,
        "ACCESS_COMMANDS_PORT": os.environ.get("ACCESS_COMMANDS_PORT", "8002"),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", f"http://localhost:{port}"),
    }
