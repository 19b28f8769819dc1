"""OCPP payloads checked against the JSON schemas the `ocpp` package ships (SPEC: every
payload validates against OCPP 1.6 and 2.0.1's own schemas).

A schema names a whole message (`AuthorizeResponse`, `SendLocalList`...); a part of one
(the `idTagInfo` of an answer) is checked as that property of a message made of it.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema import Draft4Validator, Draft6Validator, FormatChecker
from jsonschema.protocols import Validator

VERSIONS = {"1.6": "v16", "2.0.1": "v201"}


@cache
def validator(version: str, message: str) -> Validator:
    """The validator of `message` (a schema file's name, e.g. "AuthorizeResponse") of OCPP
    `version` ("1.6" or "2.0.1"), checking formats too."""
    text = files("ocpp").joinpath(VERSIONS[version], "schemas", f"{message}.json").read_text()
    schema = json.loads(text)
    kind = Draft4Validator if "draft-04" in schema.get("$schema", "") else Draft6Validator
    checker = FormatChecker()
    checker.checks("date-time")(_rfc3339)
    return kind(schema, format_checker=checker)


def _rfc3339(value: object) -> bool:
    """jsonschema checks `date-time` only with an optional package: check it here."""
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        return datetime.fromisoformat(value).utcoffset() is not None
    except ValueError:
        return False


def validate(version: str, message: str, payload: dict[str, Any]) -> None:
    """Raise `jsonschema.ValidationError` unless `payload` is a valid `message`."""
    validator(version, message).validate(payload)


def validate_id_tag_info(info: dict[str, Any]) -> None:
    """OCPP 1.6 `IdTagInfo`, as the `idTagInfo` of an `Authorize.conf`."""
    validate("1.6", "AuthorizeResponse", {"idTagInfo": info})


def validate_id_token_info(info: dict[str, Any]) -> None:
    """OCPP 2.0.1 `IdTokenInfoType`, as the `idTokenInfo` of an `AuthorizeResponse`."""
    validate("2.0.1", "AuthorizeResponse", {"idTokenInfo": info})
