"""The `KAFKA_*` security settings: read as SPEC names them, refused with the variable
named when they cannot work, and turned into the same connection for FastStream and for
aiokafka's own clients, without the password in any text."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from services.common.config import Settings
from services.common.errors import SettingError
from services.common.kafka import broker_options, client_options, consumer_options
from services.common.kafka_security import KafkaSecurity, KafkaSettingError
from tests.certificates import make_server_certificate

SECRET = "s3cret-password"


def test_plaintext_by_default_with_no_security_object() -> None:
    settings = Settings()
    assert settings.kafka_security == KafkaSecurity()
    assert broker_options(settings) == {"bootstrap_servers": "127.0.0.1:9092", "security": None}
    assert client_options(settings) == {"bootstrap_servers": "127.0.0.1:9092"}


@pytest.mark.parametrize(("mechanism", "kind"), [
    ("PLAIN", SASLPlaintext), ("SCRAM-SHA-256", SASLScram256), ("scram-sha-512", SASLScram512)])
def test_sasl_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, mechanism: str, kind: type[BaseSecurity]
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "sasl_plaintext")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", mechanism)
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "svc")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", SECRET)
    settings = Settings.from_env()
    security = settings.kafka_security.faststream()
    assert type(security) is kind
    assert (security.username, security.password, security.use_ssl) == ("svc", SECRET, False)
    options = client_options(settings)
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == mechanism.upper()
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("svc", SECRET)
    assert SECRET not in repr(settings)
    assert SECRET not in repr(settings.kafka_security)


def test_sasl_ssl_verifies_the_broker_with_the_given_ca(tmp_path: Path) -> None:
    files = make_server_certificate(tmp_path)
    security = KafkaSecurity(protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="svc", sasl_password=SECRET,
                             ssl_ca_file=str(files.ca_file))
    made = security.faststream()
    assert isinstance(made, SASLScram512)
    assert made.use_ssl
    context = made.ssl_context
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert client_options(Settings(kafka_security=security))["security_protocol"] == "SASL_SSL"


def test_a_client_certificate_is_loaded(tmp_path: Path) -> None:
    files = make_server_certificate(tmp_path)  # any certificate and key pair will do
    security = KafkaSecurity(protocol="SSL", ssl_ca_file=str(files.ca_file),
                             ssl_cert_file=str(files.cert_file), ssl_key_file=str(files.key_file))
    assert type(security.faststream()) is BaseSecurity
    assert client_options(Settings(kafka_security=security))["security_protocol"] == "SSL"


@pytest.mark.parametrize(("env", "named"), [
    ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "GSSAPI",
      "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}, "KAFKA_SASL_MECHANISM"),
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SASL_USERNAME"),
    ({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CERT_FILE": "c.pem"}, "KAFKA_SSL_KEY_FILE"),
    ({"KAFKA_SSL_CA_FILE": "ca.pem"}, "KAFKA_SECURITY_PROTOCOL=PLAINTEXT"),
    ({"KAFKA_REPLICATION_FACTOR": "0"}, "KAFKA_REPLICATION_FACTOR"),
    ({"KAFKA_PARTITIONS": "three"}, "KAFKA_PARTITIONS"),
])
def test_a_setting_that_cannot_work_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(KafkaSettingError, match=named):
        Settings.from_env()


def test_unreadable_certificate_files_are_a_setting_error() -> None:
    security = KafkaSecurity(protocol="SSL", ssl_ca_file="/nonexistent/ca.pem")
    with pytest.raises(KafkaSettingError, match="KAFKA_SSL_"):
        security.faststream()


def test_topic_layout_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (Settings().kafka_partitions, Settings().kafka_replication_factor) == (3, 1)
    monkeypatch.setenv("KAFKA_PARTITIONS", "12")
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "3")
    settings = Settings.from_env()
    assert (settings.kafka_partitions, settings.kafka_replication_factor) == (12, 3)


def test_readme_documents_and_compose_forwards_every_kafka_setting() -> None:
    root = Path(__file__).resolve().parents[3]
    readme = (root / "README.md").read_text()
    compose = (root / "docker-compose.yml").read_text()
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM",
                 "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CA_FILE",
                 "KAFKA_SSL_CERT_FILE", "KAFKA_SSL_KEY_FILE", "KAFKA_PARTITIONS",
                 "KAFKA_REPLICATION_FACTOR"):
        assert f"| `{name}` |" in readme, name
        assert f"{name}: ${{{name}:-" in compose, name



def test_a_consumer_waits_its_own_time_unless_the_deployment_sets_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each consumer's wait suits Tansu, which holds a fetch for its whole wait;
    `KAFKA_FETCH_MAX_WAIT_MS` replaces them all on a broker that answers at once."""
    monkeypatch.delenv("KAFKA_FETCH_MAX_WAIT_MS", raising=False)
    assert consumer_options(Settings(), 5) == {"bootstrap_servers": "127.0.0.1:9092",
                                               "fetch_max_wait_ms": 5}
    for unset in ("", None):
        assert consumer_options(Settings(kafka_fetch_max_wait_ms=unset), 50)[
            "fetch_max_wait_ms"] == 50
    monkeypatch.setenv("KAFKA_FETCH_MAX_WAIT_MS", "500")
    assert consumer_options(Settings(), 5)["fetch_max_wait_ms"] == 500
    for bad in ("0", "-5", "soon"):
        monkeypatch.setenv("KAFKA_FETCH_MAX_WAIT_MS", bad)
        with pytest.raises(SettingError, match="KAFKA_FETCH_MAX_WAIT_MS"):
            Settings.from_env()
