"""The access service's settings read README's environment names, with its defaults, on
top of the shared ones."""

from __future__ import annotations

import socket

import pytest
from pydantic import SecretStr

from services.access.config import AccessSettings
from services.common.config import Settings

ACCESS_ONLY = ("API_PORT", "AUDIT_TOKENS", "OPERATOR_IDS",
               "BROKER_CHECK_SECONDS", "INVITATION_TTL_SECONDS", "ACCESS_INSTANCE")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*ACCESS_ONLY, "API_TOKENS", "DATABASE_URL", "TOPIC_PREFIX", "TOKEN_SECRET",
                 "TOKEN_SECRET_PREVIOUS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_the_documented_ones(env: pytest.MonkeyPatch) -> None:
    settings = AccessSettings.from_env()
    assert settings.api_port == 8000
    assert settings.api_tokens == settings.audit_tokens == settings.operator_ids == frozenset()
    assert settings.broker_check_seconds == 5.0
    assert settings.invitation_ttl_seconds == 604800
    assert settings.access_instance == socket.gethostname()
    assert settings.database_url == Settings().database_url
    assert settings.previous_token_secrets == ()


def test_every_access_setting_comes_from_its_variable(env: pytest.MonkeyPatch) -> None:
    env.setenv("API_PORT", "9100")
    env.setenv("API_TOKENS", " a, b ,,")
    env.setenv("AUDIT_TOKENS", "auditor")
    env.setenv("OPERATOR_IDS", "op-1,op-2")
    env.setenv("BROKER_CHECK_SECONDS", "0.5")
    env.setenv("INVITATION_TTL_SECONDS", "60")
    env.setenv("ACCESS_INSTANCE", "access-7")
    env.setenv("DATABASE_URL", "postgresql://db/elsewhere")
    env.setenv("TOPIC_PREFIX", "t.")
    env.setenv("TOKEN_SECRET", "s")
    env.setenv("TOKEN_SECRET_PREVIOUS", " old-1,, old-2 ")

    settings = AccessSettings.from_env()

    assert (settings.api_port, secrets(settings.api_tokens), secrets(settings.audit_tokens)) == (
        9100, {"a", "b"}, {"auditor"})
    assert settings.operator_ids == frozenset({"op-1", "op-2"})
    assert (settings.broker_check_seconds, settings.invitation_ttl_seconds) == (0.5, 60)
    assert settings.access_instance == "access-7"
    # The shared settings, read the same way as for the notification service:
    assert settings.database_url == "postgresql://db/elsewhere"
    assert settings.topics == Settings.from_env().topics
    assert settings.token_secret.get_secret_value() == b"s"
    assert [s.get_secret_value() for s in settings.previous_token_secrets] == [b"old-1", b"old-2"]
    assert "old-1" not in repr(settings)


def secrets(tokens: frozenset[SecretStr]) -> set[str]:
    return {t.get_secret_value() for t in tokens}


def test_the_shared_settings_hold_nothing_only_the_access_service_reads() -> None:
    shared = set(Settings.model_fields)
    assert not shared & {name.lower() for name in ACCESS_ONLY}
