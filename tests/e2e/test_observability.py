"""One trace across the real processes, and their JSON log lines.

Both services run with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a tiny OTLP/HTTP
collector in the test (it decodes the protobuf requests the real exporters send) and
with `LOG_FORMAT=json`. A command sent with a `traceparent` comes back with the same
trace id on its result's header, on its events' records on `access.events`, and on the
notification service's span for the e-mail it causes, and on the `access.local-lists`
record of the list version it makes.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from harness.database import Database
from services.local.smtp_sink import SmtpSink
from services.local.tansu import free_port
from tests.e2e.conftest import TOKEN, System, eventually
from tests.kafka_helpers import CommandClient

pytestmark = pytest.mark.e2e

TRACE_ID = uuid.uuid4().hex
CALLER_SPAN = "00f067aa0ba902b7"


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver: (service name, span name, trace id) of every span."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", free_port()), _Receive)
        self.spans: list[tuple[str, str, str]] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Receive(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
        assert isinstance(self.server, Collector)
        for resource in request.resource_spans:
            service = next(a.value.string_value for a in resource.resource.attributes
                           if a.key == "service.name")
            for scope in resource.scope_spans:
                self.server.spans.extend((service, s.name, s.trace_id.hex()) for s in scope.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class HeaderClient(CommandClient):
    """Keeps each result's and each event's record headers too."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.result_headers: dict[str, dict[str, bytes]] = {}
        self.event_headers: list[tuple[dict[str, Any], dict[str, bytes]]] = []
        self.list_headers: list[tuple[dict[str, Any], dict[str, bytes]]] = []

    async def start(self) -> None:
        await super().start()
        self._tasks.append(asyncio.create_task(self._follow(
            self.topics.local_lists,
            lambda r: self.list_headers.append((json.loads(r.value), dict(r.headers))))))
        # The client hands over results as models; the headers come from the topic itself.
        self._tasks.append(asyncio.create_task(self._follow(
            self.topics.command_results,
            lambda r: self.result_headers.__setitem__(json.loads(r.value)["command_id"],
                                                      dict(r.headers)))))

    async def result_header(self, command_id: str, timeout: float = 10.0) -> dict[str, bytes]:
        """The record headers of `command_id`'s result, once the topic follower saw it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            headers = self.result_headers.get(command_id)
            if headers is not None:
                return headers
            if loop.time() > deadline:
                raise TimeoutError(f"no result record for {command_id}")
            await asyncio.sleep(0.02)

    def _on_event(self, record: Any) -> None:
        super()._on_event(record)
        self.event_headers.append((json.loads(record.value), dict(record.headers)))


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def observed(new_database: Any, kafka_bootstrap: str, collector: Collector,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = System(tmp_path_factory.mktemp("var"), SmtpSink(), name="otel", token=TOKEN,
                     token_secret="otel-secret", supervised=False, kafka=kafka_bootstrap,
                     database=Database(url=new_database()),
                     extra_env={"OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
                                "OTEL_BSP_SCHEDULE_DELAY": "50", "LOG_FORMAT": "json"})
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
async def client(observed: System) -> Any:
    commands = HeaderClient(observed.kafka, observed.topics)
    await commands.start()
    yield commands
    await commands.stop()


async def test_one_trace_from_the_command_to_its_result_events_and_email(
    observed: System, client: HeaderClient, collector: Collector,
) -> None:
    owner, guest, charger, invitation = (uuid.uuid4() for _ in range(4))
    guest_email = f"guest-{guest.hex[:8]}@example.no"
    for user, email in ((owner, f"owner-{owner.hex[:8]}@example.no"), (guest, guest_email)):
        registered = await client.run("RegisterUser", {"user_id": str(user), "email": email,
                                                       "name": "Kari", "locale": "nb"}, user)
        assert registered["status"] == "accepted"
    # Structured: the trace context is the envelope's `traceparent` extension.
    charger_command = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "tests",
                       "type": "RegisterCharger", "actor": str(owner),
                       "traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01",
                       "data": {"charger_id": str(charger), "serial_number": f"OT-{charger.hex[:8]}",
                                "name": "Garasje"}}
    await client.send_raw(json.dumps(charger_command).encode(), key=str(charger))
    [registered_charger] = await client.wait_results([charger_command["id"]])
    assert registered_charger["status"] == "accepted"
    # Binary: the trace context is the `ce_traceparent` header.
    invite_id = str(uuid.uuid4())
    await client.send_raw(json.dumps({"invitation_id": str(invitation), "email": guest_email,
                                      "charger_ids": [str(charger)]}).encode(), key=invite_id,
                          headers=[("ce_specversion", b"1.0"), ("ce_id", invite_id.encode()),
                                   ("ce_source", b"tests"), ("ce_type", b"InviteUser"),
                                   ("ce_actor", str(owner).encode()),
                                   ("ce_traceparent", f"00-{TRACE_ID}-{CALLER_SPAN}-01".encode()),
                                   ("content-type", b"application/json")])
    [invited] = await client.wait_results([invite_id])
    assert invited["status"] == "accepted", invited

    # The results' headers: the same trace, the service's span as the parent.
    for command_id in (charger_command["id"], invite_id):
        header = (await client.result_header(command_id))["traceparent"].decode()
        version, trace, span, _flags = header.split("-")
        assert (version, trace) == ("00", TRACE_ID)
        assert span != CALLER_SPAN

    # The events' records on access.events carry the trace too.
    await client.wait_events(lambda e: e.get("commandid") == invite_id)
    traced = [headers.get("traceparent", b"").decode() for event, headers in client.event_headers
              if event.get("commandid") in (invite_id, charger_command["id"])]
    assert traced
    assert all(t.split("-")[1] == TRACE_ID for t in traced), traced
    # A command sent without one starts a trace of its own.
    others = [h["traceparent"].decode() for e, h in client.event_headers
              if e.get("type") == "UserRegistered"]
    assert len(others) == 2
    assert all(t.split("-")[1] != TRACE_ID for t in others)

    # The charger's first local list (version 1) came from the traced RegisterCharger.
    async def first_list() -> list[dict[str, bytes]]:
        return [h for e, h in client.list_headers if e["subject"] == str(charger)
                and e["data"]["version"] == 1]

    [list_headers] = await eventually(first_list)
    assert list_headers["traceparent"].decode().split("-")[1] == TRACE_ID

    # Each record's correlation id is its own message's id (the result's command, the
    # event's, the list version's), not a random one drawn per record.
    assert (await client.result_header(invite_id))["correlation_id"] == invite_id.encode()
    assert all(h["correlation_id"].decode() == e["id"] for e, h in client.event_headers)
    assert all(h["correlation_id"].decode() == e["id"] for e, h in client.list_headers)

    # The e-mail arrives, and the notification service's send is a span of the same trace.
    [mail] = await observed.sink.wait_for(1, timeout=30)
    assert mail["To"] == guest_email

    async def email_span() -> list[tuple[str, str, str]]:
        return [s for s in collector.spans if s[1] == "notifications.email send"]

    [(service, _, trace)] = await eventually(email_span)
    assert (service, trace) == ("notifications-service", TRACE_ID)
    names = {(s[0], s[1]) for s in collector.spans if s[2] == TRACE_ID}
    assert ("access-service", "access.command") in names
    assert ("access-service", "access.events publish") in names
    assert ("access-service", "access.local-lists publish") in names


async def test_a_service_with_log_format_json_writes_json_lines_naming_the_command(
    observed: System, client: HeaderClient,
) -> None:
    # An unknown command type with a readable id: dead-lettered, and logged as such.
    command_id = str(uuid.uuid4())
    await client.send_raw(json.dumps({"specversion": "1.0", "id": command_id, "source": "tests",
                                      "type": "NoSuchCommand", "actor": "a", "data": {}}).encode())
    [result] = await client.wait_results([command_id])
    assert result["reason"] == "invalid"
    log_file = observed.log_dir / "access.log"

    async def dead_letter_line() -> list[dict[str, Any]]:
        # Every line is JSON but the harness's own `=== start ===` marks.
        lines = [json.loads(line) for line in log_file.read_text().splitlines()
                 if line.strip() and not line.startswith("=== ")]
        return [line for line in lines if line.get("command_id") == command_id]

    [line] = await eventually(dead_letter_line, timeout=10)
    assert line["level"] == "WARNING"
    assert line["logger"] == "services.access.messaging.commands"
    assert "dead letter" in line["message"]
    assert set(line) >= {"time", "level", "logger", "message", "command_id"}
