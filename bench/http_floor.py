"""P3's HTTP floor: the least an access check over HTTP can cost on this server.

One route on the query API's server software with the query API's settings (uvicorn, as
`services.access.bootstrap` configures it: its default loop and HTTP parser, no access
log, no lifespan), doing the check's irreducible work: the bearer token compared, both
ids read from the query string, the same primary-key lookup over an asyncpg pool of the
service's size, the row sent back as JSON. No routing, no validation beyond that, no
projection or consumers sharing the process: what our check costs above this is judged.

`python -m bench.http_floor DATABASE_URL PORT TOKEN` prints `ready` once it serves.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
import uvicorn
from pydantic_core import from_json, to_json

PATH = "/v1/access/check"
CHECK = "SELECT level, why, timebound FROM read.access WHERE user_id = $1 AND charger_id = $2"
"""The query API's own lookup (`api/repositories/access.py`), on the live schema."""
POOL_SIZE = 8  # the access service's pool (services.access.bootstrap)


def check_app(pool: asyncpg.Pool, token: str) -> Any:
    """The one-route ASGI app."""
    authorization = f"Bearer {token}".encode()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        if scope["path"] != PATH or headers.get(b"authorization") != authorization:
            await _respond(send, 404 if scope["path"] != PATH else 401, b"{}")
            return
        params = dict(parse_qsl(scope["query_string"].decode()))
        row = await pool.fetchrow(CHECK, params["user_id"], params["charger_id"])
        body = {"allowed": row is not None, "level": row and row["level"],
                "why": from_json(row["why"]) if row else []}
        await _respond(send, 200, to_json(body))

    return app


async def _respond(send: Any, status: int, content: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-length", str(len(content)).encode()),
        (b"content-type", b"application/json"),
    ]})
    await send({"type": "http.response.body", "body": content})


async def serve(database_url: str, port: int, token: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=2, max_size=POOL_SIZE)
    config = uvicorn.Config(check_app(pool, token), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            return
        await asyncio.sleep(0.05)
    print("ready", flush=True)
    try:
        await task
    finally:
        await pool.close()


def main(argv: list[str]) -> None:
    database_url, port, token = argv
    asyncio.run(serve(database_url, int(port), token))


if __name__ == "__main__":
    main(sys.argv[1:])
