"""The client reaches a secured broker exactly as the service does: the same `KAFKA_*`
settings give aiokafka the same options, and the same refusals."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from charger_access_client import KafkaSecurity, KafkaSettingError
from services.common import kafka_security
from tests.certificates import make_server_certificate


def _comparable(options: dict[str, Any]) -> dict[str, Any]:
    """The options with the TLS context read as what it checks."""
    context = options.pop("ssl_context", None)
    if context is not None:
        options["ssl"] = (context.verify_mode, context.check_hostname,
                          len(context.get_ca_certs()))
    return options


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(make_server_certificate(tmp_path_factory.mktemp("client-tls")).ca_file)


@pytest.mark.parametrize("env", [
    {},
    {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CA_FILE": "{ca}"},
    {"KAFKA_SECURITY_PROTOCOL": "sasl_plaintext", "KAFKA_SASL_USERNAME": "svc",
     "KAFKA_SASL_PASSWORD": "pw"},
    {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "scram-sha-512",
     "KAFKA_SASL_USERNAME": "svc", "KAFKA_SASL_PASSWORD": "pw", "KAFKA_SSL_CA_FILE": "{ca}"},
], ids=["plaintext", "ssl", "sasl-plain", "sasl-ssl-scram"])
def test_the_same_settings_give_the_same_aiokafka_options(
    env: dict[str, str], ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {name: value.format(ca=ca_file) for name, value in env.items()}
    ours = KafkaSecurity.from_env(env)
    services = _services_security(env, monkeypatch)
    theirs = services.model_dump()
    theirs["sasl_password"] = services.sasl_password.get_secret_value()
    assert dataclasses.asdict(ours) == theirs
    assert _comparable(ours.client_options()) == _comparable(services.client_options())


@pytest.mark.parametrize(("env", "named"), [
    ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "GSSAPI",
      "KAFKA_SASL_USERNAME": "a", "KAFKA_SASL_PASSWORD": "b"}, "KAFKA_SASL_MECHANISM"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SASL_PASSWORD"),
    ({"KAFKA_SSL_CA_FILE": "/ca.pem"}, "uses no TLS"),
    ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CERT_FILE": "/c.pem"}, "go together"),
])
def test_a_setting_that_cannot_work_is_refused_naming_it(
    env: dict[str, str], named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(KafkaSettingError, match=named):
        KafkaSecurity.from_env(env)
    with pytest.raises(kafka_security.KafkaSettingError, match=named):
        _services_security(env, monkeypatch)


def _services_security(env: dict[str, str],
                       monkeypatch: pytest.MonkeyPatch) -> kafka_security.KafkaSecurity:
    """The service's settings read the process environment (pydantic-settings): give it
    exactly `env`'s Kafka variables."""
    for name in list(os.environ):
        if name.startswith("KAFKA_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return kafka_security.KafkaSecurity()


def test_an_unreadable_ca_file_is_refused_when_connecting(tmp_path: Path) -> None:
    security = KafkaSecurity("SSL", ssl_ca_file=str(tmp_path / "missing.pem"))
    with pytest.raises(KafkaSettingError, match="KAFKA_SSL_"):
        security.client_options()


def test_the_password_stays_out_of_repr() -> None:
    security = KafkaSecurity("SASL_PLAINTEXT", "PLAIN", "svc", "hunter2-secret")
    assert "hunter2-secret" not in repr(security)
