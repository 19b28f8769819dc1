"""docker-compose.yml stays a valid file describing the whole system (checked offline)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_SERVICES = {"kafka", "postgres", "mailpit", "access", "notifications"}
SECRETS = {"TOKEN_SECRET": "compose-test-secret",
           "PERSON_KEY_KEK": "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
"""The secrets compose insists on (`${VAR:?}`), as an operator's .env would give them."""


def compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: `make test` installs it (apt-get docker-compose)"
    return subprocess.run(
        [binary, "--file", str(ROOT / "docker-compose.yml"), *args],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=60,
        env={**os.environ, **SECRETS} if env is None else env,
    )


def test_compose_file_is_valid() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_the_kek() -> None:
    without = {k: v for k, v in {**os.environ, **SECRETS}.items() if k != "PERSON_KEY_KEK"}
    result = compose("config", "-q", env=without)
    assert result.returncode != 0
    assert "set PERSON_KEY_KEK" in result.stderr
    assert "TOKEN_SECRET:?" in (ROOT / "docker-compose.yml").read_text()


def test_compose_runs_every_part_of_the_system() -> None:
    result = compose("config", "--services")
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == EXPECTED_SERVICES


@pytest.fixture(scope="module")
def service_blocks() -> dict[str, str]:
    """The rendered configuration, one block per service (indented two spaces)."""
    rendered = compose("config")
    assert rendered.returncode == 0, rendered.stderr
    blocks = re.split(r"\n  (?=[a-z])", rendered.stdout)
    return {b.split(":", 1)[0]: b for b in blocks[1:]}


def test_every_infrastructure_service_has_a_healthcheck(service_blocks: dict[str, str]) -> None:
    for name in ("kafka", "postgres", "mailpit", "access"):
        assert "healthcheck:" in service_blocks[name], f"{name} has no healthcheck"


def test_compose_gives_the_kek_to_the_access_service_only(service_blocks: dict[str, str]) -> None:
    assert "PERSON_KEY_KEK:" in service_blocks["access"]
    assert "PERSON_KEY_KEK" not in service_blocks["notifications"]
    assert "TOKEN_SECRET_PREVIOUS:" in service_blocks["notifications"]
