"""P1's peer as a process of its own, under the same load shape as the access service:
commands read from Kafka (`<prefix>access.commands`), one result per command published
on `<prefix>access.command-results`, so the benchmark's client drives it exactly as it
drives ours (`python -m bench.peer_service DATABASE_URL BOOTSTRAP PREFIX THREADS`).

What is judged is our batching and group commit, so the peer's Kafka side is not made
worse than it needs to be: a consumer without a group (no join to wait for), fetches
answered after at most 10 ms (the service's own setting), every record handed at once to
a pool of as many threads as the benchmark has commands in flight (the library's recorder
is synchronous, and a command here waits on several reads before its insert: on this
machine, the peer alone ran 85 / 112 / 144 commands/s with 8 / 16 / 32 threads, though
PERFORMANCE.md found 4 best for a bare create-and-save), and each result sent as soon as
its commit returns, without waiting for the broker's ack before the next.
Prints `ready` once it follows the topic, then runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.peer_app import Peer, PeerApplication, peer_env
from charger_access_client.client import fixed_positions
from charger_access_client.topics import Topics
from services.access.handlers.context import Rules
from services.access.messaging.intake import Record, read

THREADS = 32
SECRET = b"peer-token-secret-for-the-benchmark-only"


class PeerService:
    """The peer's consumer, threads and producer; `start`, then `stop`."""

    def __init__(self, database_url: str, bootstrap: str, prefix: str,
                 threads: int = THREADS) -> None:
        self.topics = Topics(prefix)
        self._app = PeerApplication(env=peer_env(database_url, threads))
        self._peer = Peer(self._app, Rules(token_secret=SECRET))
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="peer")
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                          linger_ms=0, enable_idempotence=False)
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                          enable_auto_commit=False, fetch_max_wait_ms=5)
        self._running: set[asyncio.Future[Any]] = set()
        self._follower: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Returns once the commands topic is followed from its end."""
        await self._producer.start()
        await self._consumer.start()
        await fixed_positions(self._consumer, self.topics.commands, from_beginning=False)
        self._follower = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        await self._consumer.stop()
        await self._producer.stop()
        self._threads.shutdown(cancel_futures=True)
        self._app.close()

    async def _follow(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000, max_records=500)
            for records in batches.values():
                for r in records:
                    self._keep(asyncio.ensure_future(self._one(Record(r.value, r.key))))

    def _keep(self, future: asyncio.Future[Any]) -> None:
        self._running.add(future)
        future.add_done_callback(self._running.discard)

    async def _one(self, record: Record) -> None:
        intake = read(record)
        if intake.item is None:
            return  # a dead letter: the benchmark sends none
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._threads, self._peer.execute, intake.item)
        self._keep(await self._producer.send(
            self.topics.command_results, result.model_dump_json(exclude_none=True).encode(),
            key=result.command_id.encode()))


async def serve(database_url: str, bootstrap: str, prefix: str, threads: int) -> None:
    service = PeerService(database_url, bootstrap, prefix, threads)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    await service.start()
    print("ready", flush=True)
    try:
        await stopping.wait()
    finally:
        await service.stop()


def main(argv: list[str]) -> None:
    database_url, bootstrap, prefix, threads = argv
    asyncio.run(serve(database_url, bootstrap, prefix, int(threads)))


if __name__ == "__main__":
    main(sys.argv[1:])
