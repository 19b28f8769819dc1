"""A TLS front for a plaintext listener, in a thread of its own: clients speak TLS to it,
it speaks plaintext to the server behind it.

Tansu 0.6 cannot serve TLS itself: `tansu broker --cert C --key K` is refused by its
command line (`--cert` and `--key` share one exclusive option group) and with only one of
them it stays plaintext (`test_tansu_cannot_be_given_both_cert_and_key`). So the broker
is put behind this front, advertising the front's address, as a TLS-terminating load
balancer would; SASL still runs end to end between the client and Tansu.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading

from services.local.tansu import free_port


class TlsTerminator:
    def __init__(self, context: ssl.SSLContext, target_port: int, port: int = 0) -> None:
        self.context = context
        self.target_port = target_port
        self.port = port or free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._relay, "127.0.0.1", self.port, ssl=self.context)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer),
                             return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    finally:
        with contextlib.suppress(Exception):
            writer.close()
