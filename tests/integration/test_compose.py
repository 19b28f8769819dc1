"""docker-compose.yml stays a valid file describing the whole system (checked offline)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_SERVICES = {"kafka", "postgres", "mailpit", "access", "notifications", "ocpp-gateway"}


def compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: `make test` installs it (apt-get docker-compose)"
    return subprocess.run(
        [binary, "--file", str(ROOT / "docker-compose.yml"), *args],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=60,
        env={**os.environ, **SECRETS} if env is None else env,
    )


SECRETS = {"TOKEN_SECRET": "compose-test-secret",
           "PERSON_KEY_KEK": "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
"""The secrets compose insists on (`${VAR:?}`), as an operator's .env would give them."""


def test_compose_file_is_valid() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_runs_every_part_of_the_system() -> None:
    result = compose("config", "--services")
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == EXPECTED_SERVICES


def test_every_infrastructure_service_has_a_healthcheck() -> None:
    rendered = compose("config")
    assert rendered.returncode == 0, rendered.stderr
    # `config` prints one block per service (indented two spaces); each must carry a healthcheck.
    blocks = re.split(r"\n  (?=[a-z])", rendered.stdout)
    for name in ("kafka", "postgres", "mailpit", "access", "ocpp-gateway"):
        block = next(b for b in blocks if b.startswith(f"{name}:"))
        assert "healthcheck:" in block, f"{name} has no healthcheck"


def test_compose_refuses_to_start_without_the_kek() -> None:
    without = {k: v for k, v in {**os.environ, **SECRETS}.items() if k != "PERSON_KEY_KEK"}
    result = compose("config", "-q", env=without)
    assert result.returncode != 0
    assert "set PERSON_KEY_KEK" in result.stderr


def test_compose_insists_on_the_secrets_and_gives_the_kek_to_the_access_service_only() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "TOKEN_SECRET: ${TOKEN_SECRET:?" in text
    # Top-level sections, then the services' blocks (indented two spaces).
    services = text[text.index("\nservices:\n"):text.index("\nvolumes:\n")]
    blocks = dict(re.findall(r"\n  ([a-z-]+):\n(.*?)(?=\n  [a-z-]+:\n|\Z)", services, re.S))
    assert [name for name, block in blocks.items() if "PERSON_KEY_KEK:" in block] == ["access"]
    assert "PERSON_KEY_KEK" not in text[:text.index("\nservices:\n")]  # not in the shared env
