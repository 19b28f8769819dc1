"""The settings of both services: a value that cannot work stops the start with one line
naming its variable (never quoting a secret), development secrets are refused outside
`APP_ENV=dev`, and secrets stay out of `repr`."""

from __future__ import annotations

import base64
import logging

import pytest
from pydantic import SecretStr

from services.access.config import AccessSettings
from services.common.config import (
    DEV_API_TOKEN,
    DEV_TOKEN_SECRET,
    DevelopmentSecretError,
    Settings,
)
from services.common.errors import SettingError
from services.common.serving import run_service
from services.notifications.config import NotificationSettings
from services.notifications.privacy import RecipientKeys
from services.ocpp_gateway.config import GatewaySettings

REAL_KEK = "k1:" + base64.b64encode(b"k" * 32).decode()


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No APP_ENV (production), real secrets; each test spoils one of them."""
    monkeypatch.delenv("APP_ENV")
    monkeypatch.setenv("TOKEN_SECRET", "a-real-secret-of-this-deployment")
    monkeypatch.setenv("PERSON_KEY_KEK", REAL_KEK)
    monkeypatch.setenv("API_TOKENS", "real-token")
    return monkeypatch


def test_real_secrets_start_both_services(production: pytest.MonkeyPatch) -> None:
    assert AccessSettings.from_env().app_env == "production"
    assert NotificationSettings.from_env().common.app_env == "production"


@pytest.mark.parametrize(("spoil", "named"), [
    (lambda env: env.delenv("TOKEN_SECRET"), "TOKEN_SECRET"),
    (lambda env: env.delenv("PERSON_KEY_KEK"), "PERSON_KEY_KEK"),
    (lambda env: env.setenv("API_TOKENS", f"real-token,{DEV_API_TOKEN}"), "API_TOKENS"),
    (lambda env: env.setenv("API_TOKENS", ""), "API_TOKENS"),  # none: every request refused
])
def test_a_development_secret_is_refused_outside_dev(
    production: pytest.MonkeyPatch, spoil: object, named: str
) -> None:
    spoil(production)  # type: ignore[operator]
    with pytest.raises(DevelopmentSecretError, match=named):
        AccessSettings.from_env()
    production.setenv("APP_ENV", "dev")
    assert AccessSettings.from_env().app_env == "dev"


@pytest.mark.parametrize("value", ["", DEV_API_TOKEN])
def test_every_service_refuses_no_api_tokens_outside_dev(
    production: pytest.MonkeyPatch, value: str
) -> None:
    """Their `/metrics` answer only these tokens (the gateway's port faces the internet)."""
    production.setenv("API_TOKENS", value)
    for settings in (NotificationSettings, GatewaySettings, AccessSettings):
        with pytest.raises(DevelopmentSecretError, match="API_TOKENS"):
            settings.from_env()
    production.setenv("APP_ENV", "dev")
    assert GatewaySettings.from_env().common.api_tokens == (
        {SecretStr(value)} if value else frozenset())


def test_the_notification_service_refuses_the_development_token_secret(
    production: pytest.MonkeyPatch,
) -> None:
    production.delenv("TOKEN_SECRET")
    with pytest.raises(DevelopmentSecretError, match="TOKEN_SECRET"):
        NotificationSettings.from_env()


def test_the_notification_service_refuses_the_development_secret_as_recipient_key_secret(
    production: pytest.MonkeyPatch,
) -> None:
    """A dump's addresses are kept from guessing by this secret: the published one would
    let anyone derive every key (`TOKEN_SECRET`'s own check cannot see it here)."""
    production.setenv("RECIPIENT_KEY_SECRET", DEV_TOKEN_SECRET)
    with pytest.raises(DevelopmentSecretError, match="RECIPIENT_KEY_SECRET"):
        NotificationSettings.from_env()
    production.setenv("RECIPIENT_KEY_SECRET", "the-outgoing-token-secret")
    assert NotificationSettings.from_env().recipient_key_secret is not None
    production.setenv("APP_ENV", "dev")
    production.setenv("RECIPIENT_KEY_SECRET", DEV_TOKEN_SECRET)
    assert NotificationSettings.from_env().common.app_env == "dev"


@pytest.mark.parametrize(("name", "value", "cls"), [
    ("API_PORT", "eighty", AccessSettings),
    ("BROKER_CHECK_SECONDS", "soon", AccessSettings),
    ("APP_ENV", "staging", Settings),
    ("SMTP_CONNECTIONS", "0", NotificationSettings),
    ("NOTIFICATIONS_PORT", "x", NotificationSettings),
    ("PERSON_KEY_KEK", "k1:c2hvcnQ=", AccessSettings),
])
def test_a_bad_value_is_one_setting_error_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, cls: type[Settings]
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingError) as refused:
        cls.from_env()
    message = str(refused.value)
    assert name in message or "KEK" in message
    assert "\n" not in message


def test_a_bad_secret_is_named_but_not_quoted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN_SECRET_PREVIOUS", "ok")
    monkeypatch.setenv("SMTP_URL", "http://user:hunter2@mail:25")
    with pytest.raises(SettingError, match="SMTP_URL") as refused:
        NotificationSettings.from_env()
    assert "hunter2" not in str(refused.value)


def test_a_development_secret_ends_the_process_with_one_line_and_status_2(
    production: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    production.delenv("TOKEN_SECRET")

    def make() -> object:
        AccessSettings.from_env()
        raise AssertionError("not reached")

    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as stopped:
        run_service(make)  # type: ignore[arg-type]
    assert stopped.value.code == 2
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "TOKEN_SECRET" in record.getMessage()
    assert "APP_ENV=dev" in record.getMessage()


def test_secrets_stay_out_of_repr(production: pytest.MonkeyPatch) -> None:
    production.setenv("SMTP_URL", "smtp://u:smtp-pass@mail:587")
    production.setenv("AUDIT_TOKENS", "auditor-token")
    production.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    production.setenv("KAFKA_SASL_USERNAME", "svc")
    production.setenv("KAFKA_SASL_PASSWORD", "kafka-pass")
    text = repr(AccessSettings.from_env()) + repr(NotificationSettings.from_env())
    for secret in ("a-real-secret", base64.b64encode(b"k" * 32).decode(), "real-token",
                   "smtp-pass", "auditor-token", "kafka-pass"):
        assert secret not in text


def test_an_empty_variable_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose forwards unset optional settings as `${VAR:-}`, i.e. empty."""
    monkeypatch.setenv("API_PORT", "")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "")
    settings = AccessSettings.from_env()
    assert (settings.api_port, settings.kafka_security.protocol) == (8000, "PLAINTEXT")


def test_a_lease_no_longer_than_the_smtp_timeout_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A send may take the whole SMTP timeout: a lease that could run out mid-send would
    let another instance send the same e-mail. Refused at start, naming both settings."""
    monkeypatch.setenv("SMTP_TIMEOUT_SECONDS", "30")
    monkeypatch.setenv("LEASE_SECONDS", "30")
    with pytest.raises(SettingError, match=r"LEASE_SECONDS \(30\) must be longer than SMTP_TIMEOUT_SECONDS"):
        NotificationSettings.from_env()
    monkeypatch.setenv("LEASE_SECONDS", "31")
    assert NotificationSettings.from_env().lease_seconds == 31


def test_recipient_keys_come_from_recipient_key_secret_else_token_secret(
    production: pytest.MonkeyPatch,
) -> None:
    """Setting RECIPIENT_KEY_SECRET to the TOKEN_SECRET about to be replaced keeps every
    sent-log key, so the rotation neither resends a redelivered event's e-mail nor
    forgets who was forgotten (docs/security.md)."""
    address = "Kari.Nordmann@Example.no"
    production.setenv("TOKEN_SECRET", "the-old-token-secret")
    production.setenv("RECIPIENT_KEY_SECRET", "")  # as compose forwards it unset
    before = NotificationSettings.from_env().recipient_keys()(address)
    assert before == RecipientKeys(b"the-old-token-secret")(address)

    production.setenv("TOKEN_SECRET", "the-new-token-secret")
    assert NotificationSettings.from_env().recipient_keys()(address) != before
    production.setenv("RECIPIENT_KEY_SECRET", "the-old-token-secret")
    assert NotificationSettings.from_env().recipient_keys()(address) == before
    assert "the-old-token-secret" not in repr(NotificationSettings.from_env())
