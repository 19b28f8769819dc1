"""`bench.growth` starts each size's catch-up as on a fleet no system ran on: a share book
an earlier run left is emptied, so the scheduler folds the whole log (P6's heaviest start)
instead of resuming from it, and the figure does not depend on what ran before."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from bench.growth.fleets import empty_share_book
from services.access.schedule.book_table import ShareBook
from services.access.store.application import open_store

pytestmark = pytest.mark.integration

NOTICE = timedelta(hours=24)


async def _resumes(url: str) -> bool:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        book = ShareBook(pool)
        await book.setup()
        until = datetime.now(UTC) + timedelta(hours=24)
        return await book.resume(NOTICE, until) is not None
    finally:
        await pool.close()


async def _write_a_book(url: str) -> None:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        book = ShareBook(pool)
        await book.setup()
        await book.write(0, NOTICE, {})
    finally:
        await pool.close()


def test_a_share_book_left_by_a_run_before_is_emptied(new_database: Callable[[], str]) -> None:
    url = new_database()
    store = open_store(url, pool_size=1)  # the log's tables, which the book reads its head from
    try:
        assert asyncio.run(empty_share_book(url)) is False  # none yet
        asyncio.run(_write_a_book(url))
        assert asyncio.run(_resumes(url))  # a scheduler started now would resume from it

        assert asyncio.run(empty_share_book(url)) is True

        assert not asyncio.run(_resumes(url))  # it folds the log from the start
    finally:
        store.close()
