"""Configuration both services share, from the environment: the same names for `make
run`, tests and compose. Each service adds its own (`services/access/config.py`,
`services/notifications/config.py`): by subclassing `Settings` (access) or holding it as
`common` (notifications, and the OCPP gateway the same way: an `EnvSettings` with
`env_prefix="OCPP_"`), each gets the environment reading, the one-line errors and the
refusal of development secrets (`Settings.from_env`).

Defaults are for this machine; `make run` exports the values it chose (its own broker,
mail catcher, token secret, `APP_ENV=dev`) before starting the services.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self
from urllib.parse import urlparse, urlsplit, urlunsplit

from pydantic import Field, SecretBytes, SecretStr, ValidationInfo, field_validator
from pydantic_settings import NoDecode

from charger_access_client.topics import Topics
from services.common.env_settings import EnvSettings
from services.common.errors import SettingError
from services.common.kafka_security import KafkaSecurity, KafkaSettingError

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/charger_access"
DEV_TOKEN_SECRET = "dev-only-token-secret-change-me"  # noqa: S105
DEV_API_TOKEN = "dev-token"  # noqa: S105 - `make run`'s announced token, published here
DEV_ENV = "dev"

TokenSet = Annotated[frozenset[SecretStr], NoDecode]
"""Comma-separated bearer tokens, each kept out of `repr`."""


class DevelopmentSecretError(SettingError):
    """A development secret outside `APP_ENV=dev`: anyone who read the code knows it."""


def refuse_development_secrets(app_env: str, names: list[str]) -> None:
    """Stop a start outside `APP_ENV=dev` that holds development secrets (`names`)."""
    if app_env != DEV_ENV and names:
        raise DevelopmentSecretError(
            f"{', '.join(names)} hold(s) a development value or nothing; set real secrets, "
            f"or APP_ENV={DEV_ENV} on a development machine")


class Settings(EnvSettings):
    app_env: Literal["dev", "production"] = "production"
    """`APP_ENV`: `dev` lets a service start on development secrets; anything else
    (production) refuses them."""
    database_url: str = Field(DEFAULT_DATABASE_URL, repr=False)  # may hold a password
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security: KafkaSecurity = Field(default_factory=KafkaSecurity)
    kafka_partitions: int = 3
    """Partitions of each topic we create (`KAFKA_PARTITIONS`)."""
    kafka_replication_factor: int = 1
    """Replicas of each topic we create (`KAFKA_REPLICATION_FACTOR`): 3 on a production
    cluster; 1 suits a single local broker."""
    kafka_fetch_max_wait_ms: int | None = None
    """`KAFKA_FETCH_MAX_WAIT_MS`: how long a consumer's fetch may wait on the broker for
    records. Unset, each consumer's own wait, chosen for Tansu, which holds a fetch for
    its whole wait even when records arrive (commands 5 ms, e-mails and the gateway 50):
    a lone record's floor, and how often an idle consumer fetches. Apache Kafka answers a
    waiting fetch as soon as records arrive: set 500 there (compose does), and an idle
    consumer fetches twice a second instead of up to 200 times."""
    smtp_url: SecretStr = SecretStr("smtp://127.0.0.1:1025")  # may hold a password
    public_base_url: str = "http://localhost:8000"
    topics: Annotated[Topics, NoDecode] = Field(default_factory=Topics,
                                                validation_alias="TOPIC_PREFIX")
    token_secret: SecretBytes = SecretBytes(DEV_TOKEN_SECRET.encode())
    consumer_group_prefix: str = "charger-access"
    previous_token_secrets: Annotated[tuple[SecretBytes, ...], NoDecode] = Field(
        (), validation_alias="TOKEN_SECRET_PREVIOUS")
    """`TOKEN_SECRET_PREVIOUS` (comma-separated): secrets `token_secret` replaced, accepted
    for invitation tokens issued under them, never used to issue one."""
    api_tokens: TokenSet = frozenset()
    """`API_TOKENS`: bearer tokens of the access service's query API, and of every
    service's `/metrics` (one scraper's token for all three: the gateway's port faces
    the chargers' internet)."""

    @classmethod
    def from_env(cls) -> Self:
        """The settings a service starts with: refused when they hold a development
        secret outside `APP_ENV=dev`."""
        settings = cls()
        refuse_development_secrets(settings.app_env, settings.development_secrets())
        return settings

    def development_secrets(self) -> list[str]:
        """The variables holding a value published in this code (or, where a service
        cannot work without one, none at all)."""
        names = ["TOKEN_SECRET"] if self.token_secret.get_secret_value() == (
            DEV_TOKEN_SECRET.encode()) else []
        # None at all: the query API and /metrics would refuse every request, so say so at
        # start.
        if not self.api_tokens or any(
                t.get_secret_value() == DEV_API_TOKEN for t in self.api_tokens):
            names.append("API_TOKENS")
        return names

    @field_validator("kafka_partitions", "kafka_replication_factor", "kafka_fetch_max_wait_ms",
                     mode="before")
    @classmethod
    def _at_least_one(cls, value: object, info: ValidationInfo) -> object:
        name = str(info.field_name).upper()
        if name == "KAFKA_FETCH_MAX_WAIT_MS" and value in (None, ""):
            return None  # unset: each consumer's own wait
        try:
            number = int(str(value))
        except ValueError:
            number = 0
        if number < 1:
            raise KafkaSettingError(f"{name} must be a whole number of at least 1, not {value!r}")
        return number

    @field_validator("topics", mode="before")
    @classmethod
    def _prefixed(cls, value: object) -> object:
        return Topics(value) if isinstance(value, str) else value

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("previous_token_secrets", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return comma_separated(value)

    @field_validator("api_tokens", mode="before")
    @classmethod
    def _token_set(cls, value: object) -> object:
        return token_set(value)

    @property
    def smtp_host_port(self) -> tuple[str, int]:
        parsed = urlparse(self.smtp_url.get_secret_value())
        return parsed.hostname or "127.0.0.1", parsed.port or (
            465 if parsed.scheme == "smtps" else 25)


def comma_separated(value: object) -> object:
    """`a, b,,c` as `("a", "b", "c")`: how lists are written in the environment."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def token_set(value: object) -> object:
    """A comma-separated list as a set (tokens, ids)."""
    return frozenset(items) if isinstance(items := comma_separated(value), tuple) else items


def redacted(url: str) -> str:
    """`url` fit to print: a password in it (SMTP_URL, DATABASE_URL) replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
