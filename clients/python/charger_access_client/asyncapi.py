"""The Kafka side of the contract as an AsyncAPI 3 document, generated from the models.

`python -m charger_access_client.asyncapi > docs/asyncapi.json` (or `make contract-docs`);
a test fails when the committed document and this output differ, so a change to a model is
always a visible change to the published contract. One message per command and event type, each
an envelope whose `type` is fixed and whose `data` is that type's model.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from charger_access_client import topics
from charger_access_client.access_events import EVENT_TYPES
from charger_access_client.commands import COMMAND_TYPES
from charger_access_client.envelope import (
    CommandEnvelope,
    CommandResult,
    DeadLetterHeaders,
    EventEnvelope,
)
from charger_access_client.local_lists import LocalListChanged

CLOUDEVENTS_JSON = "application/cloudevents+json"
REF = "#/components/schemas/{model}"
KAFKA_BINDING = "0.5.0"


def _schemas(
    models: list[type[BaseModel]],
) -> tuple[dict[str, Any], dict[type[BaseModel], dict[str, Any]]]:
    """Every model's JSON schema, nested ones included, under `components/schemas`; and the
    `$ref` of each model by class."""
    refs, found = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    by_model: dict[type[BaseModel], dict[str, Any]] = {
        model: ref for (model, _), ref in refs.items() if issubclass(model, BaseModel)
    }
    defs: dict[str, Any] = found.get("$defs", {})
    return defs, by_model


def _header(name: str, value: str) -> dict[str, Any]:
    return {"type": "object", "properties": {name: {"type": "string", "const": value}}}


def _keyed(description: str) -> dict[str, Any]:
    return {"kafka": {"key": {"type": "string", "description": description},
                      "bindingVersion": KAFKA_BINDING}}


def _enveloped(envelope: str, type_name: str, data_ref: dict[str, Any],
               **fixed: int) -> dict[str, Any]:
    """The envelope's schema narrowed to one `type`: that name, and its model as `data`."""
    narrowed: dict[str, Any] = {"type": {"const": type_name, "type": "string"},
                                "data": data_ref}
    narrowed.update({name: {"const": value, "type": "integer"} for name, value in fixed.items()})
    return {"allOf": [{"$ref": REF.format(model=envelope)}, {"properties": narrowed}]}


@dataclass(frozen=True)
class Channel:
    """One topic: its messages by name, and whether the service sends or receives them."""

    key: str
    address: str
    action: Literal["send", "receive"]
    description: str
    messages: dict[str, dict[str, Any]]


def _message(name: str, payload: dict[str, Any], key: str, *, content_type: str | None,
             doc: str | None = None, **more: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"name": name, "title": name, "payload": payload, **more,
                               "bindings": _keyed(key)}
    if content_type is not None:
        message["contentType"] = content_type
    if doc and doc.strip():
        message["summary"] = doc.strip()
    return message


def _channels(ref: dict[type[BaseModel], dict[str, Any]]) -> list[Channel]:
    results = _header("content-type", "application/json")
    cloudevents = _header("content-type", CLOUDEVENTS_JSON)
    return [
        Channel("commands", topics.COMMANDS, "receive",
                "Commands in. Every command gets exactly one result.", {
            name: _message(
                name, _enveloped("CommandEnvelope", name, ref[model]),
                "The id of the charger, invitation, user or group the command is about: "
                "one aggregate's commands keep their order.",
                content_type="application/json", doc=model.__doc__,
                description="Structured binding: this envelope as the value (content-type "
                f"`application/json` or `{CLOUDEVENTS_JSON}`). Binary binding: `data` as "
                "the value and each attribute in a `ce_<name>` header (`content-type` for "
                "`datacontenttype`).")
            for name, model in COMMAND_TYPES.items()}),
        Channel("commandResults", topics.COMMAND_RESULTS, "send", "One result per command.", {
            "CommandResult": _message("CommandResult", ref[CommandResult], "The command's id.",
                                      content_type="application/json", headers=results)}),
        Channel("commandsDeadLetters", topics.COMMANDS_DLQ, "send",
                "Records on the commands topic that are not command envelopes; those with a "
                "readable id also get a `rejected`/`invalid` result.", {
            "DeadLetter": _message(
                "DeadLetter",
                {"description": "The refused record's value, unchanged (cut at 512 KiB)."},
                "The refused record's key.", content_type=None, headers=ref[DeadLetterHeaders],
                doc="A record that was not a command envelope, as it came.")}),
        Channel("events", topics.EVENTS, "send",
                "Every stored event, at least once (dedupe on `id`).", {
            name: _message(
                name, _enveloped("EventEnvelope", name, ref[event], dataversion=event.VERSION),
                "The aggregate id (`subject`): one aggregate's events keep store order.",
                content_type=CLOUDEVENTS_JSON, doc=event.__doc__, headers=cloudevents)
            for name, event in EVENT_TYPES.items()}),
        Channel("localLists", topics.LOCAL_LISTS, "send",
                "Each new version of a charger's local list, at least once, in version "
                "order per charger.", {
            "LocalListChanged": _message(
                "LocalListChanged", ref[LocalListChanged], "The charger id.",
                content_type=CLOUDEVENTS_JSON, doc=LocalListChanged.__doc__,
                headers=cloudevents)}),
    ]


def asyncapi_document() -> dict[str, Any]:
    models: list[type[BaseModel]] = [CommandEnvelope, CommandResult, EventEnvelope,
                                     DeadLetterHeaders, LocalListChanged,
                                     *COMMAND_TYPES.values(), *EVENT_TYPES.values()]
    schemas, ref = _schemas(models)
    channels = _channels(ref)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "charger-access", "version": "1",
            "description": "Commands in, results, events and local lists out, on Kafka. "
            "Topic names take the deployment's `TOPIC_PREFIX` in front.",
        },
        "defaultContentType": "application/json",
        "channels": {c.key: {
            "address": c.address, "description": c.description,
            "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in c.messages},
        } for c in channels},
        "operations": {f"{c.action}{c.key[0].upper()}{c.key[1:]}": {
            "action": c.action, "channel": {"$ref": f"#/channels/{c.key}"},
            "messages": [{"$ref": f"#/channels/{c.key}/messages/{name}"} for name in c.messages],
        } for c in channels},
        "components": {
            "messages": {name: m for c in channels for name, m in c.messages.items()},
            "schemas": schemas,
        },
    }


def asyncapi_json() -> str:
    return json.dumps(asyncapi_document(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    sys.stdout.write(asyncapi_json())


if __name__ == "__main__":
    main()
