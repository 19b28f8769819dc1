"""Send a command, await its result: the access service's Kafka API as one call.

Every command gets exactly one result on `access.command-results`, keyed and identified
by the command's id. The client follows that topic from the moment it starts (its
positions are fixed before the first send, so no result of a command it sends can slip
past), and hands each result to whoever awaits that id. A command sent again with the same
id is answered with the same result, so a caller that timed out may simply send again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import BaseModel
from pydantic_core import to_json

from charger_access_client.envelope import CommandResult
from charger_access_client.security import KafkaSecurity
from charger_access_client.topics import Topics

Headers = Sequence[tuple[str, bytes]]
DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
log = logging.getLogger(__name__)


class NoResultError(TimeoutError):
    """No result arrived in time. The command may still be applied later: send it again
    with the same id to learn its outcome (it is never applied twice)."""

    def __init__(self, command_id: str, timeout: float) -> None:
        super().__init__(f"no result for command {command_id} within {timeout:g} s")
        self.command_id = command_id


class BrokerUnreachableError(ConnectionError):
    """No broker could be reached or logged in to; says with which settings, never the
    password. A broker that refuses a login often just closes the connection."""


def _unreachable(bootstrap_servers: str, security: KafkaSecurity,
                 error: Exception) -> BrokerUnreachableError:
    if isinstance(error, KeyError):  # aiokafka 0.14 reads a SCRAM refusal as a missing key
        error = ConnectionRefusedError(f"the broker refused the SASL login ({error!r})")
    how = security.protocol
    if security.uses_sasl:
        how += f" ({security.sasl_mechanism} as {security.sasl_username!r})"
    return BrokerUnreachableError(
        f"cannot connect to Kafka at {bootstrap_servers} over {how}: {error}")


async def _started(client: AIOKafkaConsumer | AIOKafkaProducer, bootstrap_servers: str,
                   security: KafkaSecurity) -> None:
    try:
        await client.start()
    except (KafkaError, KeyError) as error:
        await client.stop()
        raise _unreachable(bootstrap_servers, security, error) from error


class TopicMissingError(LookupError):
    """The results topic does not exist: a wrong `TOPIC_PREFIX`, or no service yet."""


def command_envelope(type_: str, data: Mapping[str, Any] | BaseModel, actor: uuid.UUID | str,
                     *, command_id: uuid.UUID | str | None = None,
                     source: str = "access-client") -> dict[str, Any]:
    """A structured CloudEvents command, ready for JSON: what `send` publishes."""
    fields = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data)
    return {"specversion": "1.0", "id": str(command_id or uuid.uuid4()), "source": source,
            "type": type_, "time": datetime.now(UTC).isoformat(), "actor": str(actor),
            "datacontenttype": "application/json", "data": fields}


async def fixed_positions(consumer: AIOKafkaConsumer, topic: str,
                          from_beginning: bool) -> None:
    """Assign every partition of `topic` and resolve where reading starts, now: `latest`
    is otherwise resolved lazily, after a result sent meanwhile could already be there."""
    await consumer.topics()  # fetches the metadata partitions_for_topic reads
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise TopicMissingError(
            f"topic {topic!r} does not exist: is the access service running, and is "
            "TOPIC_PREFIX the service's?")
    assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(assigned)
    if from_beginning:
        await consumer.seek_to_beginning(*assigned)
    else:
        await consumer.seek_to_end(*assigned)
    for partition in assigned:
        await consumer.position(partition)


class AccessClient:
    """Commands in, results out, as another service talks to the access service.

    ```python
    async with AccessClient.from_env(os.environ, source="my-service") as access:
        result = await access.run("RegisterUser", {...}, actor=user_id)
    ```

    `on_result` sees every result on the topic (not only ours), copies included, as it
    arrives; `from_beginning` follows the topic from its start instead of from now.
    `producer_options` and `consumer_options` go to aiokafka as they are.
    """

    def __init__(self, bootstrap_servers: str, *, security: KafkaSecurity | None = None,
                 topics: Topics | None = None, source: str = "access-client",
                 from_beginning: bool = False,
                 on_result: Callable[[CommandResult], None] | None = None,
                 producer_options: Mapping[str, Any] | None = None,
                 consumer_options: Mapping[str, Any] | None = None) -> None:
        self.topics = topics or Topics()
        self.source = source
        self._bootstrap = bootstrap_servers
        self._security = security or KafkaSecurity()
        self._options = {"bootstrap_servers": bootstrap_servers,
                         **self._security.client_options()}
        self._from_beginning = from_beginning
        self._on_result = on_result
        # acks=all: a command counts as sent only once every replica has it.
        self._producer = AIOKafkaProducer(**{**self._options, "acks": "all", "linger_ms": 1,
                                             "enable_idempotence": False,
                                             **(producer_options or {})})
        # A broker that does not answer a fetch as soon as a record arrives waits this long.
        self._consumer_options = {"fetch_max_wait_ms": 100, **(consumer_options or {})}
        self._waiting: dict[str, asyncio.Future[CommandResult]] = {}
        self._follower: asyncio.Task[None] | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], **options: Any) -> AccessClient:
        """A client set up as the service is, from the same variables:
        `KAFKA_BOOTSTRAP_SERVERS`, `TOPIC_PREFIX`, `KAFKA_SECURITY_PROTOCOL`,
        `KAFKA_SASL_*`, `KAFKA_SSL_*`. `options` are the constructor's other arguments."""
        return cls(env.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP),
                   security=KafkaSecurity.from_env(env),
                   topics=Topics(env.get("TOPIC_PREFIX", "")), **options)

    async def __aenter__(self) -> AccessClient:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.stop()

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(**{**self._options, **self._consumer_options,
                                       "group_id": None, "enable_auto_commit": False})
        await _started(consumer, self._bootstrap, self._security)
        try:
            await fixed_positions(consumer, self.topics.command_results, self._from_beginning)
            await _started(self._producer, self._bootstrap, self._security)
        except BaseException:
            await consumer.stop()
            raise
        self._follower = asyncio.create_task(self._follow(consumer), name="access-results")

    async def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
            self._follower = None
        self.forget_pending()
        await self._producer.stop()

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
                for records in batches.values():
                    for record in records:
                        self._received(record)
        finally:
            await consumer.stop()

    def _received(self, record: Any) -> None:
        try:
            result = CommandResult.model_validate_json(record.value or b"")
        except ValueError:
            log.warning("not a command result at %s/%d@%d; skipped", record.topic,
                        record.partition, record.offset)
            return
        if self._on_result is not None:
            self._on_result(result)
        waiting = self._waiting.get(result.command_id)
        if waiting is not None and not waiting.done():
            waiting.set_result(result)

    def _expect(self, command_id: str) -> asyncio.Future[CommandResult]:
        """The future of `command_id`'s result; kept, resolved or not, until `result`
        takes it, so a result that arrives before anyone awaits it is not lost."""
        future = self._waiting.get(command_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._waiting[command_id] = future
        return future

    def forget_pending(self) -> int:
        """Stop waiting for every result nobody awaits any more; how many were dropped."""
        count = len(self._waiting)
        for future in self._waiting.values():
            future.cancel()
        self._waiting.clear()
        return count

    async def send(self, type_: str, data: Mapping[str, Any] | BaseModel, *,
                   actor: uuid.UUID | str, command_id: uuid.UUID | str | None = None,
                   key: str | None = None) -> str:
        """Publish one command (acknowledged by the broker) and return its id; await its
        result with `result(id)`. `key` orders commands about one aggregate (default: the
        command id). `data` is sent as given: the service, not the client, judges it."""
        message = command_envelope(type_, data, actor, command_id=command_id,
                                   source=self.source)
        await self.send_raw(to_json(message), key=key or message["id"],
                            command_id=message["id"])
        return str(message["id"])

    async def send_raw(self, value: bytes, *, key: str | bytes | None = None,
                       headers: Headers | None = None, command_id: str | None = None) -> None:
        """Publish a record as it is (binary binding, another SDK's bytes); with
        `command_id`, its result can be awaited with `result`."""
        if command_id is not None:
            self._expect(command_id)
        encoded = key.encode() if isinstance(key, str) else key
        await self._producer.send_and_wait(self.topics.commands, value, key=encoded,
                                           headers=list(headers) if headers else None)

    async def result(self, command_id: str,
                     timeout: float = 30.0) -> CommandResult:  # noqa: ASYNC109 - the API's wait
        """The result of a command sent by this client, waiting at most `timeout` s."""
        future = self._expect(command_id)
        try:
            # Not `asyncio.wait_for`: on Python 3.11 it loses a cancellation that comes in
            # the same turn as the result (CPython gh-86296).
            async with asyncio.timeout(timeout):
                result = await asyncio.shield(future)
        except TimeoutError:
            raise NoResultError(command_id, timeout) from None
        if self._waiting.get(command_id) is future:
            del self._waiting[command_id]
        return result

    async def run(self, type_: str, data: Mapping[str, Any] | BaseModel, *,
                  actor: uuid.UUID | str, command_id: uuid.UUID | str | None = None,
                  key: str | None = None,
                  timeout: float = 30.0) -> CommandResult:  # noqa: ASYNC109 - the API's wait
        """Send a command and await its result."""
        sent = await self.send(type_, data, actor=actor, command_id=command_id, key=key)
        return await self.result(sent, timeout)


async def follow_results(bootstrap_servers: str, *, security: KafkaSecurity | None = None,
                         topics: Topics | None = None,
                         from_beginning: bool = False) -> AsyncIterator[CommandResult]:
    """Every result on the topic as it arrives (from now, or from the topic's start)."""
    security = security or KafkaSecurity()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers,
                                **security.client_options(),
                                group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100)
    await _started(consumer, bootstrap_servers, security)
    try:
        await fixed_positions(consumer, (topics or Topics()).command_results, from_beginning)
        async for record in consumer:
            yield CommandResult.model_validate_json(record.value or b"")
    finally:
        await consumer.stop()
