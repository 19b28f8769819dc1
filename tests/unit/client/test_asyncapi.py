"""The committed AsyncAPI document is the Kafka contract: it must match the models, name
every public topic, and its schemas must take what the service takes and refuse what it
refuses."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from charger_access_client.access_events import EVENT_TYPES
from charger_access_client.asyncapi import asyncapi_document, asyncapi_json
from charger_access_client.commands import COMMAND_TYPES
from charger_access_client.topics import Topics

DOC = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"
SPEC_SCHEMA = Path(__file__).parent / "fixtures" / "asyncapi-3.0.0.schema.json.gz"
DOCUMENT = asyncapi_document()
ROOT = "urn:asyncapi"


def test_committed_asyncapi_document_matches_the_models():
    assert DOC.read_text() == asyncapi_json(), (
        "docs/asyncapi.json is out of date: run `make contract-docs`"
    )


def test_the_document_is_valid_asyncapi_3():
    """Against the AsyncAPI Initiative's own schema of the format (see fixtures/README.md)."""
    schema = json.loads(gzip.decompress(SPEC_SCHEMA.read_bytes()))
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}"
              for e in validator_for(schema)(schema).iter_errors(DOCUMENT)]
    assert errors == []


def test_every_public_topic_is_a_channel_with_its_messages():
    addresses = {c["address"]: c for c in DOCUMENT["channels"].values()}
    internal = {Topics().notifications_dlq}  # the notification service's own dead letters
    assert set(addresses) == set(Topics().all()) - internal
    assert set(addresses[Topics().commands]["messages"]) == set(COMMAND_TYPES)
    assert set(addresses[Topics().events]["messages"]) == set(EVENT_TYPES)
    assert DOCUMENT["asyncapi"].startswith("3.")
    for operation in DOCUMENT["operations"].values():
        channel = operation["channel"]["$ref"].rsplit("/", 1)[1]
        for message in operation["messages"]:
            assert message["$ref"].rsplit("/", 1)[1] in DOCUMENT["channels"][channel]["messages"]


def payload_validator(message: str) -> Draft202012Validator:
    resource = Resource.from_contents(DOCUMENT, default_specification=DRAFT202012)
    registry = Registry().with_resource(ROOT, resource)
    schema = {"$ref": f"{ROOT}#/components/messages/{message}/payload"}
    return Draft202012Validator(schema, registry=registry)


def command(type_: str, data: dict[str, Any], **attributes: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "tests", "type": type_,
            "actor": str(uuid.uuid4()), "data": data, **attributes}


REGISTER = {"user_id": str(uuid.uuid4()), "email": "kari@example.no"}


@pytest.mark.parametrize(("message", "valid"), [
    (command("RegisterUser", REGISTER), True),
    (command("RegisterUser", REGISTER, partitionkey="k", traceparent="00-ab-cd-01",
             datacontenttype="application/json", subject="s", dataschema="urn:x"), True),
    (command("RegisterUser", {**REGISTER, "surprise": 1}), False),
    (command("RegisterUser", REGISTER, Bad_Name="x"), False),
    (command("RegisterUser", REGISTER, partitionkey={"nested": 1}), False),
    (command("CreateGroup", REGISTER), False),  # another type's data
])
def test_command_schemas_agree_with_the_intake(message: dict[str, Any], valid: bool) -> None:
    assert payload_validator("RegisterUser").is_valid(message) is valid


def test_event_schema_takes_a_published_event() -> None:
    user = str(uuid.uuid4())
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "type": "UserRegistered",
             "dataversion": 1, "source": "charger-access", "subject": user, "sequence": 3,
             "time": datetime.now(UTC).isoformat(), "actor": user, "commandid": "c",
             "data": {"user_id": user, "email": "kari@example.no", "locale": "nb"}}
    validator = payload_validator("UserRegistered")
    assert validator.is_valid(event)
    assert not validator.is_valid({**event, "type": "GroupCreated"})
    assert not validator.is_valid({**event, "data": {"user_id": user}})
