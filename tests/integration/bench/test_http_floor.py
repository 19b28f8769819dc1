"""P3's HTTP floor does the check's lookup for real: the stored row for a known token,
refusal without it, served by uvicorn as the query API is."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest

from bench.core import wait_until
from bench.http import Connection
from bench.http_floor import check_app
from bench.p3_check import free_port
from services.access.projection.schema import create_schema

pytestmark = pytest.mark.integration


async def test_the_floor_answers_the_stored_row_to_a_known_token_only(new_database: Any) -> None:
    import uvicorn

    url: str = new_database()
    user, charger = uuid.uuid4(), uuid.uuid4()
    why = [{"source": "share", "level": "manage"}]
    conn = await asyncpg.connect(url)
    try:
        await create_schema(conn, "read")
        await conn.execute("INSERT INTO read.access (user_id, charger_id, level, why) "
                           "VALUES ($1, $2, 'manage', $3)", user, charger, json.dumps(why))
    finally:
        await conn.close()
    port = free_port()
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        server = uvicorn.Server(uvicorn.Config(check_app(pool, "tok"), host="127.0.0.1",
                                               port=port, log_level="warning", lifespan="off"))
        task = asyncio.create_task(server.serve())
        assert await wait_until(lambda: server.started, 20, 0.02)
        path = f"/v1/access/check?user_id={user}&charger_id={charger}"
        good, bad = Connection(f"http://127.0.0.1:{port}", "tok"), \
            Connection(f"http://127.0.0.1:{port}", "wrong")
        try:
            found = await good.get(path)
            missing = await good.get(f"/v1/access/check?user_id={uuid.uuid4()}"
                                     f"&charger_id={charger}")
            refused = await bad.get(path)
        finally:
            await good.close()
            await bad.close()
            server.should_exit = True
            await task
    assert found.status == 200
    assert json.loads(found.body) == {"allowed": True, "level": "manage", "why": why}
    assert json.loads(missing.body)["allowed"] is False
    assert refused.status == 401
