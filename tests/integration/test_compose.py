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
from services.common.config import DevelopmentSecretError
from services.common.env_settings import env_names
from services.notifications.config import NotificationSettings
from services.notifications.service import DRAIN_SECONDS as NOTIFICATIONS_DRAIN_SECONDS
from services.ocpp_gateway.config import GatewaySettings

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_SERVICES = {"kafka", "postgres", "mailpit", "access", "access-queries", "notifications",
                     "ocpp-gateway"}
ACCESS = ("access", "access-queries")
"""The access service's two processes: its command side and its read side."""


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
"""The secrets a deployment must give (an operator's .env); without them the file still
validates, and the services refuse to start, naming the variable."""
SETTINGS = (AccessSettings, NotificationSettings, GatewaySettings)


def bare_environment() -> dict[str, str]:
    """This process's environment without any of the services' settings or the secrets:
    what `docker-compose config` sees on a fresh machine."""
    names = set(SECRETS).union(*(env_names(settings) for settings in SETTINGS))
    return {k: v for k, v in os.environ.items() if k not in names}


def test_compose_file_is_valid_as_it_stands() -> None:
    result = compose("config", "-q", env=bare_environment())
    assert result.returncode == 0, result.stderr


def test_compose_runs_every_part_of_the_system(rendered: dict[str, Any]) -> None:
    assert set(rendered["services"]) == EXPECTED_SERVICES


def test_every_infrastructure_service_has_a_healthcheck(rendered: dict[str, Any]) -> None:
    for name in EXPECTED_SERVICES:
        assert "healthcheck" in rendered["services"][name], f"{name} has no healthcheck"


def test_compose_gives_the_kek_to_the_access_service_only(rendered: dict[str, Any]) -> None:
    holders = sorted(name for name, service in rendered["services"].items()
                     if "PERSON_KEY_KEK" in (service.get("environment") or {}))
    assert holders == sorted(ACCESS)


def test_compose_runs_the_access_service_as_its_command_side_and_its_read_side(
        rendered: dict[str, Any]) -> None:
    roles = {name: rendered["services"][name]["environment"]["ACCESS_ROLE"] for name in ACCESS}
    assert roles == {"access": "commands", "access-queries": "queries"}
    # The query API keeps its published port; the command side answers on one of its own.
    published = {name: {p["published"] for p in rendered["services"][name]["ports"]}
                 for name in ACCESS}
    assert published["access-queries"] == {8000}
    assert not published["access"] & published["access-queries"]


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    """`docker-compose config` with only the secrets set, as an operator's first .env."""
    result = compose("config", env={**bare_environment(), **SECRETS})
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


NEEDED_BY = {"TOKEN_SECRET": (*ACCESS, "notifications", "ocpp-gateway"),
             "PERSON_KEY_KEK": ACCESS,
             "API_TOKENS": (*ACCESS, "notifications", "ocpp-gateway")}  # their /metrics
"""Which services cannot start without each secret (POSTGRES_PASSWORD: the database)."""


@pytest.mark.parametrize("secret", sorted(NEEDED_BY))
def test_without_a_secret_the_services_that_need_it_refuse_to_start_naming_it(
    secret: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    without = {k: v for k, v in {**bare_environment(), **SECRETS}.items() if k != secret}
    result = compose("config", env=without)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    for service, settings in zip((*ACCESS, "notifications", "ocpp-gateway"),
                                 (AccessSettings, *SETTINGS), strict=True):
        _environment_of(services[service], monkeypatch)
        if service in NEEDED_BY[secret]:
            with pytest.raises(DevelopmentSecretError, match=secret):
                settings.from_env()
        else:
            assert settings.from_env().model_dump()


def test_without_a_database_password_the_database_refuses_to_initialise() -> None:
    """The official image will not create a cluster with no superuser password unless
    told to trust everyone, which compose never does."""
    without = {k: v for k, v in {**bare_environment(), **SECRETS}.items()
               if k != "POSTGRES_PASSWORD"}
    result = compose("config", env=without)
    assert result.returncode == 0, result.stderr
    environment = yaml.safe_load(result.stdout)["services"]["postgres"]["environment"]
    assert environment["POSTGRES_PASSWORD"] in ("", None)
    assert "POSTGRES_HOST_AUTH_METHOD" not in environment


def _environment_of(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's environment as compose gives it to `service` (settings only)."""
    for name in set().union(*(env_names(settings) for settings in SETTINGS)):
        monkeypatch.delenv(name, raising=False)
    for name, value in service["environment"].items():
        monkeypatch.setenv(name, "" if value is None else str(value))


@pytest.mark.parametrize(("service", "settings"), [
    ("access", AccessSettings), ("access-queries", AccessSettings),
    ("notifications", NotificationSettings),
    ("ocpp-gateway", GatewaySettings)])
def test_compose_forwards_every_setting_and_the_service_accepts_them(
    rendered: dict[str, Any], service: str, settings: type[AccessSettings | NotificationSettings | GatewaySettings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environment: dict[str, str] = rendered["services"][service]["environment"]
    assert set(env_names(settings)) <= set(environment)
    # What compose passes starts the service in production (no development secret, every
    # empty value its default):
    _environment_of(rendered["services"][service], monkeypatch)
    assert settings.from_env().model_dump()


@pytest.mark.parametrize(("service", "drain_seconds"), [
    ("access", ACCESS_DRAIN_SECONDS), ("access-queries", ACCESS_DRAIN_SECONDS),
    ("notifications", NOTIFICATIONS_DRAIN_SECONDS)])
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
