"""docker-compose.yml stays a valid file describing the whole system (checked offline)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.access.bootstrap import DRAIN_SECONDS as ACCESS_DRAIN_SECONDS
from services.access.config import AccessSettings
from services.common.env_settings import env_names
from services.notifications.config import NotificationSettings
from services.notifications.service import DRAIN_SECONDS as NOTIFICATIONS_DRAIN_SECONDS
from services.ocpp_gateway.config import GatewaySettings

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
           "PERSON_KEY_KEK": "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
           "API_TOKENS": "compose-test-token",
           "POSTGRES_PASSWORD": "compose-test-password"}
"""The secrets compose insists on (`${VAR:?}`), as an operator's .env would give them."""


def test_compose_file_is_valid() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_runs_every_part_of_the_system(rendered: dict[str, Any]) -> None:
    assert set(rendered["services"]) == EXPECTED_SERVICES


def test_every_infrastructure_service_has_a_healthcheck(rendered: dict[str, Any]) -> None:
    for name in ("kafka", "postgres", "mailpit", "access", "notifications", "ocpp-gateway"):
        assert "healthcheck" in rendered["services"][name], f"{name} has no healthcheck"


def test_compose_insists_on_the_secrets_and_gives_the_kek_to_the_access_service_only() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "TOKEN_SECRET: ${TOKEN_SECRET:?" in text
    # Top-level sections, then the services' blocks (indented two spaces).
    services = text[text.index("\nservices:\n"):text.index("\nvolumes:\n")]
    blocks = dict(re.findall(r"\n  ([a-z-]+):\n(.*?)(?=\n  [a-z-]+:\n|\Z)", services, re.S))
    assert [name for name, block in blocks.items() if "PERSON_KEY_KEK:" in block] == ["access"]
    assert "PERSON_KEY_KEK" not in text[:text.index("\nservices:\n")]  # not in the shared env


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    """`docker-compose config` with only the secrets set, as an operator's first .env."""
    env = {k: v for k, v in os.environ.items()
           if k not in set(env_names(AccessSettings)) | set(env_names(NotificationSettings))}
    result = compose("config", env={**env, **SECRETS})
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_compose_refuses_to_start_without_each_secret(secret: str) -> None:
    without = {k: v for k, v in {**os.environ, **SECRETS}.items() if k != secret}
    result = compose("config", "-q", env=without)
    assert result.returncode != 0
    assert f"set {secret}" in result.stderr


@pytest.mark.parametrize(("service", "settings"), [
    ("access", AccessSettings), ("notifications", NotificationSettings),
    ("ocpp-gateway", GatewaySettings)])
def test_compose_forwards_every_setting_and_the_service_accepts_them(
    rendered: dict[str, Any], service: str, settings: type[AccessSettings | NotificationSettings | GatewaySettings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environment: dict[str, str] = rendered["services"][service]["environment"]
    assert set(env_names(settings)) <= set(environment)
    # What compose passes starts the service in production (no development secret, every
    # empty value its default):
    for name in env_names(settings):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    assert settings.from_env().model_dump()


@pytest.mark.parametrize(("service", "drain_seconds"), [
    ("access", ACCESS_DRAIN_SECONDS), ("notifications", NOTIFICATIONS_DRAIN_SECONDS)])
def test_the_stop_grace_period_covers_the_drain(
    rendered: dict[str, Any], service: str, drain_seconds: float
) -> None:
    grace = seconds(rendered["services"][service]["stop_grace_period"])
    assert grace >= drain_seconds + 5  # the drain, then closing pools and connections


def seconds(duration: str) -> float:
    """A compose duration (`1m40s`, `100s`) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)
