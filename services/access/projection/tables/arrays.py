"""Whole columns as array parameters: how every table writer sends a batch in one statement.

Each statement takes its columns as arrays (`unnest`), so a batch of a thousand events
costs about a dozen round trips, not a thousand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import to_json

from services.access.projection.sql import Connection, render


def json_text(value: Any) -> str:
    """JSON text for a jsonb parameter (pydantic's encoder: several times the stdlib's)."""
    return to_json(value).decode()


def columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """`rows` as `width` column lists (each empty when there are no rows)."""
    return [[row[i] for row in rows] for i in range(width)]


async def copy_rows(
    conn: Connection, s: str, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """COPY `rows` into `s.table` (binary, no per-row statement): only for rows that are new."""
    if rows:
        await conn.copy_records_to_table(table, schema_name=s, columns=list(columns),
                                         records=rows)


async def execute_rows(
    conn: Connection, s: str, template: str, rows: Sequence[Sequence[Any]]
) -> None:
    """Run `template` (in schema `s`) once with `rows` turned into column arrays; skip if none."""
    if rows:
        await conn.execute(render(template, s), *columns(rows, len(rows[0])))
