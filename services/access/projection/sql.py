"""SQL plumbing shared by the projection and the query API's repositories.

Schema names are spliced into SQL text (identifiers cannot be bind parameters). A
rebuild projects into a fresh schema and swaps it in, and tests each take a schema of
their own, so the name varies; it is checked here, once, so no caller can inject SQL.
"""

from __future__ import annotations

import re
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

DEFAULT_SCHEMA = "read"

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
"""A plain connection or one borrowed from a pool; both run the same SQL."""

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def checked_schema(name: str) -> str:
    """Return `name` quoted for SQL, or raise ValueError if it is not a plain identifier."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain lower-case SQL identifier: {name!r}")
    return f'"{name}"'


def render(template: str, schema: str) -> str:
    """Put the checked, quoted schema name into a SQL template's `{s}` placeholders."""
    return template.replace("{s}", checked_schema(schema))
