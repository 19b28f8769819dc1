"""How our Kafka clients reach a secured broker: TLS and SASL from the `KAFKA_*` settings.

Every client (commands, results, relay, local lists, notifications, the gateway, the
topic admin) must connect the same way, so one value holds the choice and gives it in the
two shapes our clients take: FastStream's `security=` object and aiokafka's own keyword
arguments. A setting that cannot work is refused at start, naming its variable, rather
than surfacing later as a connection that hangs. The password is a `SecretStr`, so
settings can be printed without leaking it.
"""

from __future__ import annotations

import ssl
from typing import Any

from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from charger_access_client.security import KafkaSecurity as ClientKafkaSecurity
from charger_access_client.security import KafkaSettingError as ClientKafkaSettingError
from services.common.env_settings import EnvSettings
from services.common.errors import SettingError

SASL_CLASSES: dict[str, type[SASLPlaintext | SASLScram256 | SASLScram512]] = {
    "PLAIN": SASLPlaintext,
    "SCRAM-SHA-256": SASLScram256,
    "SCRAM-SHA-512": SASLScram512,
}


class KafkaSettingError(SettingError):
    """A `KAFKA_*` setting that cannot work; the message names the variable."""


class KafkaSecurity(EnvSettings):
    model_config = SettingsConfigDict(env_prefix="KAFKA_")

    protocol: str = Field("PLAINTEXT", validation_alias="KAFKA_SECURITY_PROTOCOL")
    """`KAFKA_SECURITY_PROTOCOL`: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."""
    sasl_mechanism: str = "PLAIN"
    """`KAFKA_SASL_MECHANISM`: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512."""
    sasl_username: str = ""
    sasl_password: SecretStr = SecretStr("")
    ssl_ca_file: str = ""
    """`KAFKA_SSL_CA_FILE`: the CA that signed the broker's certificate (empty: the
    system's trust store)."""
    ssl_cert_file: str = ""
    ssl_key_file: str = ""
    """`KAFKA_SSL_CERT_FILE` / `KAFKA_SSL_KEY_FILE`: our client certificate, for brokers
    that authenticate clients by TLS."""

    @field_validator("protocol", "sasl_mechanism", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _refuse_what_cannot_work(self) -> KafkaSecurity:
        self.plain()  # the client package's checks: one set of rules for both
        return self

    def plain(self) -> ClientKafkaSecurity:
        """The same choice as the client package's value (password in the clear, kept out
        of its `repr`): the client's rules and TLS context serve the service too."""
        try:
            return ClientKafkaSecurity(
                protocol=self.protocol, sasl_mechanism=self.sasl_mechanism,
                sasl_username=self.sasl_username,
                sasl_password=self.sasl_password.get_secret_value(),
                ssl_ca_file=self.ssl_ca_file, ssl_cert_file=self.ssl_cert_file,
                ssl_key_file=self.ssl_key_file)
        except ClientKafkaSettingError as error:
            raise KafkaSettingError(str(error)) from None

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    def ssl_context(self) -> ssl.SSLContext | None:
        """A verifying client context (host name checked), or None without TLS."""
        try:
            return self.plain().ssl_context()
        except ClientKafkaSettingError as error:
            raise KafkaSettingError(str(error)) from None

    def faststream(self) -> BaseSecurity | None:
        """FastStream's `KafkaBroker(security=...)`."""
        context = self.ssl_context()
        if not self.uses_sasl:
            return None if context is None else BaseSecurity(ssl_context=context)
        sasl = SASL_CLASSES[self.sasl_mechanism]
        return sasl(self.sasl_username, self.sasl_password.get_secret_value(), ssl_context=context,
                    use_ssl=self.uses_tls)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments of aiokafka's own clients (admin, consumer, producer), the
        same FastStream derives from `faststream()`, so both kinds connect alike."""
        options = parse_security(self.faststream())
        return {name: value for name, value in options.items() if value is not None}
