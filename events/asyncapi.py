"""The Kafka side of the contract as an AsyncAPI 3 document, generated from the models.

`python -m events.asyncapi > docs/asyncapi.json` (or `make contract-docs`); a test fails
when the committed document and this output differ, so a change to a model is always a
visible change to the published contract. One message per command and event type, each
an envelope whose `type` is fixed and whose `data` is that type's model.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from events import topics
from events.access_events import EVENT_TYPES
from events.commands import COMMAND_TYPES
from events.envelope import CommandEnvelope, CommandResult, DeadLetterHeaders, EventEnvelope
from events.local_lists import LocalListChanged

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


def asyncapi_document() -> dict[str, Any]:
    models: list[type[BaseModel]] = [CommandEnvelope, CommandResult, EventEnvelope,
                                     DeadLetterHeaders, LocalListChanged,
                                     *COMMAND_TYPES.values(), *EVENT_TYPES.values()]
    schemas, ref = _schemas(models)
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}

    commands: dict[str, Any] = {}
    for name, model in COMMAND_TYPES.items():
        messages[name] = {
            "name": name, "title": name, "summary": (model.__doc__ or "").strip() or None,
            "contentType": "application/json",
            "description": "Structured binding: this envelope as the value (content-type "
            f"`application/json` or `{CLOUDEVENTS_JSON}`). Binary binding: `data` as the "
            "value and each attribute in a `ce_<name>` header (`content-type` for "
            "`datacontenttype`).",
            "payload": _enveloped("CommandEnvelope", name, ref[model]),
            "bindings": _keyed("The id of the charger, invitation, user or group the "
                               "command is about: one aggregate's commands keep their order."),
        }
        commands[name] = {"$ref": f"#/components/messages/{name}"}
    channels["commands"] = {
        "address": topics.COMMANDS, "messages": commands,
        "description": "Commands in. Every command gets exactly one result.",
    }

    messages["CommandResult"] = {
        "name": "CommandResult", "contentType": "application/json",
        "headers": _header("content-type", "application/json"),
        "payload": ref[CommandResult], "bindings": _keyed("The command's id."),
    }
    channels["commandResults"] = {
        "address": topics.COMMAND_RESULTS, "description": "One result per command.",
        "messages": {"CommandResult": {"$ref": "#/components/messages/CommandResult"}},
    }

    messages["DeadLetter"] = {
        "name": "DeadLetter", "headers": ref[DeadLetterHeaders],
        "summary": "A record that was not a command envelope, as it came.",
        "payload": {"description": "The refused record's value, unchanged (cut at 512 KiB)."},
        "bindings": _keyed("The refused record's key."),
    }
    channels["commandsDeadLetters"] = {
        "address": topics.COMMANDS_DLQ,
        "description": "Records on the commands topic that are not command envelopes; those "
        "with a readable id also get a `rejected`/`invalid` result.",
        "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
    }

    events: dict[str, Any] = {}
    for name, event in EVENT_TYPES.items():
        messages[name] = {
            "name": name, "title": name, "contentType": CLOUDEVENTS_JSON,
            "summary": (event.__doc__ or "").strip() or None,
            "headers": _header("content-type", CLOUDEVENTS_JSON),
            "payload": _enveloped("EventEnvelope", name, ref[event], dataversion=event.VERSION),
            "bindings": _keyed("The aggregate id (`subject`): one aggregate's events keep "
                               "store order."),
        }
        events[name] = {"$ref": f"#/components/messages/{name}"}
    channels["events"] = {
        "address": topics.EVENTS, "messages": events,
        "description": "Every stored event, at least once (dedupe on `id`).",
    }

    messages["LocalListChanged"] = {
        "name": "LocalListChanged", "contentType": CLOUDEVENTS_JSON,
        "headers": _header("content-type", CLOUDEVENTS_JSON),
        "payload": ref[LocalListChanged], "bindings": _keyed("The charger id."),
    }
    channels["localLists"] = {
        "address": topics.LOCAL_LISTS,
        "description": "Each new version of a charger's local list, at least once, in "
        "version order per charger.",
        "messages": {"LocalListChanged": {"$ref": "#/components/messages/LocalListChanged"}},
    }

    operations = {
        "receiveCommands": _operation("receive", "commands", commands),
        "sendCommandResults": _operation("send", "commandResults", {"CommandResult": 0}),
        "sendCommandDeadLetters": _operation("send", "commandsDeadLetters", {"DeadLetter": 0}),
        "sendEvents": _operation("send", "events", events),
        "sendLocalLists": _operation("send", "localLists", {"LocalListChanged": 0}),
    }
    for message in messages.values():
        if message.get("summary") is None:
            message.pop("summary", None)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "charger-access", "version": "1",
            "description": "Commands in, results, events and local lists out, on Kafka. "
            "Topic names take the deployment's `TOPIC_PREFIX` in front.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _operation(action: str, channel: str, messages: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": action, "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in messages],
    }


def asyncapi_json() -> str:
    return json.dumps(asyncapi_document(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    sys.stdout.write(asyncapi_json())


if __name__ == "__main__":
    main()
