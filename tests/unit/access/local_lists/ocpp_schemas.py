"""The `ocpp` package's own JSON schemas for SendLocalList, with date-time checked too."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import jsonschema


@cache
def _schema(version: str, name: str) -> dict[str, Any]:
    text = resources.files(f"ocpp.{version}").joinpath("schemas", name).read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def _check_times(value: Any) -> None:
    """jsonschema checks `format: date-time` only with extra packages: check it here."""
    if isinstance(value, dict):
        for name, item in value.items():
            if name in ("expiryDate", "cacheExpiryDateTime"):
                parsed = datetime.fromisoformat(item)
                assert parsed.tzinfo is not None, item
            _check_times(item)
    elif isinstance(value, list):
        for item in value:
            _check_times(item)


def validate_16(payload: dict[str, Any]) -> None:
    """Raise unless `payload` is a valid OCPP 1.6 SendLocalList.req."""
    jsonschema.validate(payload, _schema("v16", "SendLocalList.json"))
    _check_times(payload)


def validate_201(payload: dict[str, Any]) -> None:
    """Raise unless `payload` is a valid OCPP 2.0.1 SendLocalListRequest."""
    jsonschema.validate(payload, _schema("v201", "SendLocalListRequest.json"))
    _check_times(payload)
