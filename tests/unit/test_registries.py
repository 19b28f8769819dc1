"""The tables keyed by command, event, table or e-mail kind agree with each other.

Adding a command or an event touches the contract, the domain, a handler, the folds and
the audit; nothing at run time says one was forgotten until a command comes back
`rejected`/`invalid` or an event is silently left out. Each list is compared here with
one derived independently: commands from the contract's classes, published events from
the domain's aggregates, read-model tables from the DDL the projection runs, e-mail kinds
from the template folders.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from inspect import signature
from typing import Any, get_args, get_type_hints

from eventsourcing.utils import resolve_topic

import services.access.domain
from charger_access_client.access_events import EVENT_TYPES
from charger_access_client.commands import COMMAND_TYPES
from charger_access_client.text import Level, Locale
from services.access.audit.rebuild_check import TABLES
from services.access.audit.sentences import _SENTENCES
from services.access.domain.access import LEVELS
from services.access.domain.base import AccessAggregate
from services.access.eventlog.topics import PUBLISHED_TOPICS
from services.access.handlers import HANDLERS
from services.access.projection.changes import _FOLDERS
from services.access.projection.schema import create_schema
from services.notifications.mail.recipients import KINDS, Kind
from services.notifications.mail.render import TEMPLATES

LOCALES: tuple[str, ...] = get_args(Locale)


def _aggregates() -> list[type[AccessAggregate]]:
    """Every aggregate of the domain, found by importing each of its modules."""
    for module in pkgutil.iter_modules(services.access.domain.__path__):
        importlib.import_module(f"{services.access.domain.__name__}.{module.name}")
    return AccessAggregate.__subclasses__()


def _published_domain_events() -> dict[str, type[Any]]:
    """The events the aggregates record and mark PUBLISHED, by class name.

    The library gives every aggregate an `Event` base and a default `Created`; ours never
    records either (each aggregate names its own creation event).
    """
    found: dict[str, type[Any]] = {}
    for aggregate in _aggregates():
        for name, value in vars(aggregate).items():
            if (isinstance(value, type) and issubclass(value, aggregate.Event)
                    and name not in ("Event", "Created") and value.PUBLISHED):
                found[name] = value
    return found


PUBLISHED = _published_domain_events()


def test_the_domain_publishes_events():
    assert "UserRegistered" in PUBLISHED
    assert "SharesRecorded" not in PUBLISHED  # internal bookkeeping


def test_every_command_type_has_a_handler_taking_that_command():
    assert set(COMMAND_TYPES.values()) ^ set(HANDLERS) == set()
    for command, handler in HANDLERS.items():
        [_, parameter] = signature(handler).parameters
        assert get_type_hints(handler)[parameter] is command, handler.__name__


def test_every_published_domain_event_has_a_contract_model_and_no_model_is_orphaned():
    assert set(PUBLISHED) ^ set(EVENT_TYPES) == set()


def test_the_relay_reads_every_published_domain_event():
    assert {resolve_topic(topic) for topic in PUBLISHED_TOPICS} ^ set(PUBLISHED.values()) == set()


def test_every_published_event_has_a_projection_fold():
    assert set(PUBLISHED) - set(_FOLDERS) == set()


def test_every_published_event_has_an_audit_sentence():
    assert set(PUBLISHED) - set(_SENTENCES) == set()


class _RecordingConnection:
    """Just enough of a connection for `create_schema`: it keeps the SQL it is sent."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield

    async def execute(self, sql: str, *_args: object) -> str:
        self.sql.append(sql)
        return ""


def _created_tables() -> Iterator[str]:
    conn = _RecordingConnection()
    asyncio.run(create_schema(conn, "registry_test"))  # type: ignore[arg-type]
    for sql in conn.sql:
        yield from re.findall(r'CREATE TABLE IF NOT EXISTS "registry_test"\.(\w+)', sql)


def test_rebuild_check_compares_every_read_model_table():
    # tracking: the projection's position; index_since: where an index added to older
    # read models starts (a rebuild's start at 0, so it is not compared)
    read_model = set(_created_tables()) - {"tracking", "index_since"}
    assert read_model ^ set(TABLES) == set()


def test_levels_are_the_contracts_levels():
    assert set(LEVELS) == set(get_args(Level))


def test_notification_kinds_are_one_list():
    assert sorted(KINDS) == sorted(set(get_args(Kind)))


def test_every_notification_kind_has_templates_in_every_language_and_none_is_orphaned():
    for locale in LOCALES:
        templates = {p.name for p in (TEMPLATES / locale).iterdir() if not p.name.startswith("_")}
        assert templates == {f"{kind}.{ext}" for kind in KINDS for ext in ("txt", "html")}, locale
