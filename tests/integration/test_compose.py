"""docker-compose.yml stays a valid file describing the whole system (checked offline)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_SERVICES = {"kafka", "postgres", "mailpit", "access", "notifications", "ocpp-gateway"}


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: `make test` installs it (apt-get docker-compose)"
    return subprocess.run(
        [binary, "--file", str(ROOT / "docker-compose.yml"), *args],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=60,
    )


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
