"""Turning Kafka records on `access.commands` into commands, invalid results, or DLQ entries.

Both CloudEvents Kafka bindings are read: *structured* (the whole envelope as the value)
and *binary* (`ce_*` headers, `data` as the value). Nothing here raises on bad input:
every record becomes a runnable command, a final `invalid` result, or a dead letter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from charger_access_client.commands import COMMAND_TYPES
from charger_access_client.envelope import MAX_MESSAGE_BYTES, CommandEnvelope, CommandResult
from services.access.executor import Invalid, Item, Valid
from services.access.messaging.leading_id import leading_id
from services.common import tracing
from services.common.tracing import TRACEPARENT


@dataclass(frozen=True)
class Record:
    """What we need of a Kafka record; decoupled from the client library for tests."""

    value: bytes | None
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    topic: str = ""
    partition: int = 0
    offset: int = 0


@dataclass(frozen=True)
class DeadLetter:
    record: Record
    error: str
    command_id: str | None = None
    """The id it carried, when one could be read (for the log line)."""


@dataclass(frozen=True)
class Intake:
    item: Item | None
    dead_letter: DeadLetter | None = None


def read(record: Record) -> Intake:
    size = len(record.value or b"")
    if size > MAX_MESSAGE_BYTES:
        return _dead(record, f"message of {size} bytes is over the 1 MiB limit",
                     _oversize_id(record))
    try:
        raw = _raw_envelope(record)
    except ValueError as exc:  # a binary-binding message still carries its id in a header
        return _dead(record, f"not a command envelope: {exc}", _header_id(record))
    try:
        envelope = CommandEnvelope.model_validate(raw)
    except ValidationError as exc:
        return _dead(record, f"not a command envelope: {_summary(exc)}", raw.get("id"), exc)
    command_id = str(envelope.id)
    model = COMMAND_TYPES.get(envelope.type)
    if model is None:
        return _dead(record, f"unknown command type {envelope.type!r}", command_id)
    trace = _traceparent(record, envelope)
    try:
        command = model.model_validate(envelope.data)
    except ValidationError as exc:
        return Intake(Invalid(command_id, _invalid(command_id, exc), trace))
    return Intake(Valid(command_id, envelope.actor, envelope.type, command, trace))


def _traceparent(record: Record, envelope: CommandEnvelope) -> str | None:
    """The `traceparent` extension (either binding's: `ce_` headers become extensions),
    else a plain `traceparent` header as OpenTelemetry's Kafka instrumentations write it."""
    extensions = envelope.model_extra
    if extensions and TRACEPARENT in extensions:
        return tracing.valid(extensions[TRACEPARENT])
    return tracing.from_headers(record.headers) if record.headers else None


def _raw_envelope(record: Record) -> dict[str, Any]:
    headers = dict(record.headers)
    if _is_binary(headers):
        return _binary(headers, record.value)
    parsed = _json(record.value)
    if not isinstance(parsed, dict):
        raise ValueError("the value is not a JSON object")
    return parsed


def _oversize_id(record: Record) -> str | None:
    """The id of a message too big to parse: its `ce_id` header (binary binding), else a
    top-level `id` near the start of the value (structured)."""
    if _is_binary(dict(record.headers)):
        return _header_id(record)
    return leading_id(record.value or b"")


def _is_binary(headers: dict[str, bytes]) -> bool:
    return "ce_specversion" in headers or "ce_id" in headers


def _header_id(record: Record) -> str | None:
    raw = dict(record.headers).get("ce_id")
    return raw.decode("utf-8", errors="replace") if raw is not None else None


def _binary(headers: dict[str, bytes], value: bytes | None) -> dict[str, Any]:
    """Every `ce_` header is a context attribute (extensions too, so the envelope checks
    their names as in the structured binding); `content-type` is `datacontenttype`."""
    envelope: dict[str, Any] = {
        name.removeprefix("ce_"): raw.decode("utf-8", errors="replace")
        for name, raw in headers.items() if name.startswith("ce_")
    }
    if "content-type" in headers:
        envelope["datacontenttype"] = headers["content-type"].decode("utf-8", errors="replace")
    envelope.update(specversion=envelope.get("specversion"), id=envelope.get("id"),
                    source=envelope.get("source"), type=envelope.get("type"),
                    actor=envelope.get("actor"), data=_json(value))
    return envelope


def _json(value: bytes | None) -> Any:
    if not value:
        raise ValueError("the value is empty")
    try:
        return json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"the value is not JSON ({exc})") from None


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Field errors without the offending input, which may hold a token or PII."""
    return [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def _summary(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}"
                     for e in _errors(exc))


def _invalid(command_id: str, exc: ValidationError) -> CommandResult:
    return CommandResult(command_id=command_id, status="rejected", reason="invalid",
                         detail=_summary(exc), errors=_errors(exc))


def _dead(
    record: Record, error: str, command_id: object, exc: ValidationError | None = None
) -> Intake:
    """A dead letter; it also gets an `invalid` result when it carries a usable id."""
    if not isinstance(command_id, str) or not 0 < len(command_id) <= 200:
        return Intake(None, DeadLetter(record, error))
    dead = DeadLetter(record, error, command_id)
    result = CommandResult(command_id=command_id, status="rejected", reason="invalid",
                           detail=error, errors=_errors(exc) if exc else None)
    return Intake(Invalid(command_id, result), dead)
