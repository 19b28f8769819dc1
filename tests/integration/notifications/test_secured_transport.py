"""The notification service on a TLS broker (its consumer and dead-letter producer) and an
SMTP server that wants STARTTLS and a login, and refuses ours at first: the e-mail is not
lost but stays pending, is retried, the refusals show on `/metrics`, and once the server
takes the credentials the e-mail goes, once. No password in the logs.

The broker is Tansu behind a TLS terminator (`tests/secured_tansu.py`); the certificates
are made by the test."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from charger_access_client.topics import Topics
from services.common.config import Settings
from services.common.kafka_security import KafkaSecurity
from services.local.smtp_sink import SmtpSink
from services.local.tansu import free_port
from services.notifications.config import NotificationSettings
from services.notifications.service import NotificationService
from tests.certificates import ServerCertificate, make_server_certificate
from tests.integration.notifications.test_notification_service import (
    publish,
    row_status,
    wait_until,
)
from tests.secure_smtp import Logins, secure_sink
from tests.secured_tansu import SecuredBroker, secured_tansu
from tests.unit.notifications.factories import envelope, invited

pytestmark = pytest.mark.integration

PASSWORD = "s3cret/with:odd@chars"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> ServerCertificate:
    return make_server_certificate(tmp_path_factory.mktemp("secured-transport"))


@pytest.fixture(scope="module")
def broker(certificate: ServerCertificate, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[SecuredBroker]:
    log = tmp_path_factory.mktemp("tansu-tls") / "tansu.log"
    with secured_tansu(certificate, log, authentication=False) as running:
        yield running


@pytest.fixture(scope="module")
def kafka_security(certificate: ServerCertificate) -> KafkaSecurity:
    return KafkaSecurity(protocol="SSL", ssl_ca_file=str(certificate.ca_file))


@pytest.fixture(scope="module")
async def producer(  # over TLS, unlike conftest's
    settings: NotificationSettings, service: NotificationService, kafka_security: KafkaSecurity
) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(bootstrap_servers=settings.common.kafka_bootstrap_servers,
                              acks="all", **kafka_security.client_options())
    await client.start()
    yield client
    await client.stop()


@pytest.fixture(scope="module")
def logins() -> Logins:
    return Logins({"mailer": "not what the service has"})


@pytest.fixture(scope="module")
def mail(logins: Logins, certificate: ServerCertificate) -> Iterator[tuple[SmtpSink, str]]:
    sink = secure_sink(certificate, logins)
    sink.start()
    yield sink, str(certificate.ca_file)
    sink.stop()


@pytest.fixture(scope="module")
def settings(database_url: str, broker: SecuredBroker, kafka_security: KafkaSecurity,
             mail: tuple[SmtpSink, str]) -> NotificationSettings:
    sink, ca_file = mail
    tag = uuid.uuid4().hex[:8]
    common = Settings(
        database_url=database_url, kafka_bootstrap_servers=broker.bootstrap,
        kafka_security=kafka_security,
        smtp_url=f"smtp://mailer:{quote(PASSWORD, safe='')}@127.0.0.1:{sink.port}",
        topics=Topics(f"login-{tag}."), token_secret=b"login-secret",
        consumer_group_prefix=f"login-{tag}", api_tokens=frozenset({SecretStr("scraper")}))
    return NotificationSettings(common=common, smtp_ca_file=ca_file, smtp_starttls="required",
                                retry_initial_seconds=0.1, retry_max_seconds=0.4,
                                http_port=free_port())


def metric(text: str, line_start: str) -> float:
    [line] = [line for line in text.splitlines() if line.startswith(line_start + " ")]
    return float(line.rsplit(" ", 1)[1])


async def test_a_refused_login_keeps_the_email_retries_counts_it_and_sends_it_once_fixed(
    service: NotificationService, producer: AIOKafkaProducer, settings: NotificationSettings,
    mail: tuple[SmtpSink, str], logins: Logins, caplog: pytest.LogCaptureFixture,
) -> None:
    sink, _ = mail
    assert service.deliverer is not None
    address = f"login-{uuid.uuid4().hex[:8]}@example.com"
    event = envelope(invited(email=address))
    async def is_sent() -> bool:
        return await row_status(settings, event.id) == "sent"

    with caplog.at_level(logging.DEBUG):
        await publish(producer, settings.common.topics, event)
        refusals = service.deliverer.stats.smtp_failures
        await wait_until(lambda: refusals.get("auth_refused", 0) >= 3, "three refused logins")

        async with httpx.AsyncClient() as http:
            scraped = (await http.get(f"http://127.0.0.1:{settings.http_port}/metrics",
                                      headers={"Authorization": "Bearer scraper"})).text
        assert metric(scraped, 'notifications_smtp_failures_total{reason="auth_refused"}') >= 3
        assert metric(scraped, "notifications_smtp_up") == 0
        assert metric(scraped, "notifications_queue_pending") >= 1
        assert await row_status(settings, event.id) == "pending"
        assert sink.to(address) == []

        logins.accepted["mailer"] = PASSWORD  # the operator fixes the credentials
        await wait_until(lambda: len(sink.to(address)) == 1, f"the e-mail to {address}")
        await wait_until(is_sent, "its row recorded sent")
        await asyncio.sleep(0.3)  # time enough for a second copy, were one coming
    assert len(sink.to(address)) == 1
    assert ("PLAIN", "mailer", True) in logins.attempts
    assert PASSWORD not in caplog.text
    assert quote(PASSWORD, safe="") not in caplog.text
