"""How the client reaches a secured broker: the same `KAFKA_*` settings as the service.

A service that integrates with us already holds these settings for its own Kafka clients,
so the names, the choices and the refusals are the service's: SSL, SASL PLAIN and
SCRAM-SHA-256/512, each combination checked when the value is made, naming the variable,
instead of surfacing later as a connection that hangs. The password stays out of `repr`.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class KafkaSettingError(ValueError):
    """A `KAFKA_*` setting that cannot work; the message names the variable."""


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    """`KAFKA_SECURITY_PROTOCOL`: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."""
    sasl_mechanism: str = "PLAIN"
    """`KAFKA_SASL_MECHANISM`: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512."""
    sasl_username: str = ""
    sasl_password: str = field(default="", repr=False)
    ssl_ca_file: str = ""
    """`KAFKA_SSL_CA_FILE`: the CA that signed the broker's certificate (empty: the
    system's trust store)."""
    ssl_cert_file: str = ""
    ssl_key_file: str = ""
    """`KAFKA_SSL_CERT_FILE` / `KAFKA_SSL_KEY_FILE`: a client certificate, for brokers
    that authenticate clients by TLS."""

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise KafkaSettingError(
                f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}, "
                f"not {self.protocol!r}")
        if self.uses_sasl:
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise KafkaSettingError(
                    f"KAFKA_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}, "
                    f"not {self.sasl_mechanism!r}")
            if not self.sasl_username or not self.sasl_password:
                raise KafkaSettingError(
                    f"KAFKA_SECURITY_PROTOCOL={self.protocol} needs KAFKA_SASL_USERNAME "
                    "and KAFKA_SASL_PASSWORD")
        if bool(self.ssl_cert_file) != bool(self.ssl_key_file):
            raise KafkaSettingError("KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together")
        if not self.uses_tls and (self.ssl_ca_file or self.ssl_cert_file):
            raise KafkaSettingError(
                f"KAFKA_SSL_* files are set but KAFKA_SECURITY_PROTOCOL={self.protocol} "
                "uses no TLS (SSL or SASL_SSL)")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KafkaSecurity:
        return cls(
            protocol=env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").strip().upper(),
            sasl_mechanism=env.get("KAFKA_SASL_MECHANISM", "PLAIN").strip().upper(),
            sasl_username=env.get("KAFKA_SASL_USERNAME", ""),
            sasl_password=env.get("KAFKA_SASL_PASSWORD", ""),
            ssl_ca_file=env.get("KAFKA_SSL_CA_FILE", ""),
            ssl_cert_file=env.get("KAFKA_SSL_CERT_FILE", ""),
            ssl_key_file=env.get("KAFKA_SSL_KEY_FILE", ""),
        )

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    def ssl_context(self) -> ssl.SSLContext | None:
        """A verifying client context (host name checked), or None without TLS."""
        if not self.uses_tls:
            return None
        try:
            context = ssl.create_default_context(cafile=self.ssl_ca_file or None)
            if self.ssl_cert_file:
                context.load_cert_chain(self.ssl_cert_file, self.ssl_key_file)
        except (OSError, ssl.SSLError) as error:
            raise KafkaSettingError(f"KAFKA_SSL_* files unusable: {error}") from error
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments of aiokafka's clients: `AIOKafkaProducer(**client_options())`.
        Nothing for PLAINTEXT, so aiokafka's own defaults stay in force there."""
        if self.protocol == "PLAINTEXT":
            return {}
        options: dict[str, Any] = {"security_protocol": self.protocol}
        context = self.ssl_context()
        if context is not None:
            options["ssl_context"] = context
        if self.uses_sasl:
            options.update(sasl_mechanism=self.sasl_mechanism,
                           sasl_plain_username=self.sasl_username,
                           sasl_plain_password=self.sasl_password)
        return options
