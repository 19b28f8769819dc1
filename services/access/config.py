"""The access service's settings: the shared ones plus what only this service reads.

The same environment names and defaults as README's configuration table (a test derives
the table's rows from these classes); tests build the object directly
(`AccessSettings(database_url=..., ...)`).
"""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from services.access.schedule.runner import CAPACITY as SCHEDULE_CAPACITY
from services.access.store.cache import DEFAULT_BYTES, DEFAULT_CAPACITY
from services.access.store.personal.wrapping import (
    KEK_CURRENT_ENV,
    KEK_ENV,
    KEK_FILE_ENV,
    KekError,
    load_keks,
)
from services.common.config import Settings, TokenSet, token_set
from services.common.errors import SettingError

INVITATION_TTL_SECONDS = 7 * 24 * 3600


AccessRole = Literal["all", "commands", "queries"]


class AccessSettings(Settings):
    access_role: AccessRole = "all"
    """`ACCESS_ROLE`: which parts this process runs. `all`: every part, on one event loop.
    `commands`: the command consumer and the log's followers that publish (relay, local
    lists, boundary scheduler), its API answering at the read models' tracked position.
    `queries`: the projection and the query API only. A `commands` and a `queries` process
    side by side are the whole service with a GIL each (`docs/scaling.md`)."""
    api_port: int = 8000
    query_database_url: str = Field("", repr=False)  # may hold a password
    """`QUERY_DATABASE_URL`: where the query API reads the read models, e.g. a streaming
    replica of `DATABASE_URL`; its `min_position` is then the replica's own tracking
    row (`api/tracked_position.py`). Empty: `DATABASE_URL`, at the projection's position."""
    audit_tokens: TokenSet = frozenset()
    """Bearer tokens of auditors (`AUDIT_TOKENS`): only these open `/v1/audit/...`."""
    broker_check_seconds: float = 5.0
    """How often the access service checks that the broker kept its topics and offsets."""
    operator_ids: Annotated[frozenset[str], NoDecode] = frozenset()
    """User ids (`OPERATOR_IDS`) that may send ForgetUser for someone else."""
    invitation_ttl_seconds: int = INVITATION_TTL_SECONDS
    share_ending_notice_hours: float = 24.0
    """How long before a share's `valid_until` its holder gets the `share_ending` notice
    (`SHARE_ENDING_NOTICE_HOURS`)."""
    schedule_horizon_hours: float = Field(24.0, gt=0)
    """The boundary scheduler holds in memory only the time-bound shares due within this
    many hours, and takes the next ones from its share book every half of it
    (`SCHEDULE_HORIZON_HOURS`)."""
    schedule_capacity: int = Field(SCHEDULE_CAPACITY, ge=1)
    """And at most about this many of them, those due first (`SCHEDULE_CAPACITY`): the
    horizon is brought in to fit (`schedule/shares.py`, `Timetable.capacity`)."""
    aggregate_cache: int = Field(DEFAULT_CAPACITY, ge=0)
    """How many events' worth of aggregates the command consumer keeps between batches
    (`AGGREGATE_CACHE`, each aggregate weighing its version; 0: none, every batch decodes
    whole histories): `store/cache.py`."""
    aggregate_cache_mb: float = Field(DEFAULT_BYTES / 2**20, gt=0)
    """And in at most this many MiB of pickled states (`AGGREGATE_CACHE_MB`), the least
    recently used dropped first: the bound on its memory whatever the aggregates' sizes."""
    access_instance: str = ""
    """The access service instance's name (`ACCESS_INSTANCE`, default the host name): the
    same across its restarts, unique among running instances (`incarnation`); empty: a
    unique one."""
    person_key_kek: SecretStr | None = Field(None, validation_alias=KEK_ENV)
    person_key_kek_file: str = Field("", validation_alias=KEK_FILE_ENV)
    person_key_kek_current: str = Field("", validation_alias=KEK_CURRENT_ENV)
    """The KEKs of person keys (`store/personal/wrapping.py` reads and uses them; declared
    here so a bad one stops the start with one line and none is a development secret)."""

    @field_validator("audit_tokens", "operator_ids", mode="before")
    @classmethod
    def _sets(cls, value: object) -> object:
        return token_set(value)

    @model_validator(mode="after")
    def _keks_usable(self) -> AccessSettings:
        try:
            load_keks(self.person_key_kek.get_secret_value() if self.person_key_kek else None,
                      self.person_key_kek_file or None, self.person_key_kek_current or None)
        except KekError as error:
            raise SettingError(str(error)) from None
        return self

    @property
    def share_ending_notice(self) -> timedelta:
        return timedelta(hours=self.share_ending_notice_hours)

    @property
    def schedule_horizon(self) -> timedelta:
        return timedelta(hours=self.schedule_horizon_hours)

    @classmethod
    def from_env(cls) -> Self:
        settings = super().from_env()
        if settings.access_instance:
            return settings
        return settings.model_copy(update={"access_instance": socket.gethostname()})

    def development_secrets(self) -> list[str]:
        names = super().development_secrets()
        if not (self.person_key_kek or self.person_key_kek_file):
            names.append(KEK_ENV)
        return names

