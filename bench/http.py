"""A minimal HTTP/1.1 keep-alive GET client on asyncio streams.

httpx costs more CPU per request than the server it measures; on a 2-core machine the
load generator would then be the bottleneck. This one writes a fixed request and reads
`Content-Length` bytes back: enough for our own JSON API on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from urllib.parse import urlparse


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


class Connection:
    def __init__(self, base_url: str, token: str) -> None:
        parsed = urlparse(base_url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        self._head = (f"Host: {self.host}:{self.port}\r\nAuthorization: Bearer {token}\r\n"
                      "Connection: keep-alive\r\n\r\n").encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def get(self, path: str) -> Response:
        reused = self._writer is not None and not self._writer.is_closing()
        try:
            return await self._get(path)
        except (asyncio.IncompleteReadError, ConnectionError):
            if not reused:
                raise
            # The server closed an idle keep-alive connection (uvicorn: after 5 s): once more
            # on a fresh one, as any HTTP client does.
            await self.close()
            return await self._get(path)

    async def _get(self, path: str) -> Response:
        reader, writer = await self._open()
        writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + self._head)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            lowered = name.lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"connection" and value.strip().lower() == b"close":
                close = True
        body = await reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return Response(status, body)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


async def timed_gets(base_url: str, token: str, paths: list[str],
                     warm_up: int) -> tuple[list[float], Response | None]:
    """One request at a time on one keep-alive connection, after the first `warm_up`
    paths once untimed: each request's latency (s), and the last response (to check).
    A status other than 200 is an error: a read that fails has no figure."""
    conn = Connection(base_url, token)
    latencies: list[float] = []
    response: Response | None = None
    try:
        for path in paths[:warm_up]:
            await conn.get(path)
        for path in paths:
            started = time.perf_counter()
            response = await conn.get(path)
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}: {response.body[:200]!r}")
    finally:
        await conn.close()
    return latencies, response


class Pool:
    """A fixed set of keep-alive connections shared by many concurrent requests."""

    def __init__(self, base_url: str, token: str, size: int) -> None:
        self._all = [Connection(base_url, token) for _ in range(size)]
        self._idle: asyncio.Queue[Connection] = asyncio.Queue()
        for connection in self._all:
            self._idle.put_nowait(connection)

    async def get(self, path: str) -> Response:
        connection = await self._idle.get()
        try:
            return await connection.get(path)
        except BaseException:
            await connection.close()  # never reuse a connection left mid-response
            raise
        finally:
            self._idle.put_nowait(connection)

    async def close(self) -> None:
        for connection in self._all:
            await connection.close()
