"""The committed OpenAPI document is the API's contract: it must match the code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.access.api.openapi import openapi_document

DOC = Path(__file__).resolve().parents[4] / "docs" / "openapi.json"


@pytest.fixture(scope="module")
def generated() -> str:
    """Built once: building the app and its document takes most of a second."""
    return openapi_document()


@pytest.fixture(scope="module")
def document(generated: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(generated)
    return parsed


def test_committed_openapi_document_matches_the_code(generated: str):
    assert DOC.read_text() == generated, (
        "docs/openapi.json is out of date: "
        "run `make contract-docs`"
    )


def test_openapi_document_lists_every_query_endpoint(document: dict[str, Any]):
    paths = set(document["paths"])
    assert {
        "/v1/users/{user_id}/chargers",
        "/v1/access/check",
        "/v1/chargers/{charger_id}",
        "/v1/chargers/{charger_id}/users",
        "/v1/chargers/{charger_id}/history",
        "/v1/groups/{group_id}",
        "/v1/invitations/{invitation_id}",
        "/v1/users/{user_id}/charge-keys",
        "/v1/ocpp/1.6/authorize",
        "/v1/ocpp/2.0.1/authorize",
        "/healthz",
        "/readyz",
    } <= paths


def test_query_and_audit_tokens_are_two_security_schemes(document: dict[str, Any]):
    assert set(document["components"]["securitySchemes"]) == {"QueryToken", "AuditToken"}
    for path, operations in document["paths"].items():
        for operation in operations.values():
            if path in ("/healthz", "/readyz"):
                assert "security" not in operation
            elif path.startswith("/v1/audit/"):
                assert operation["security"] == [{"AuditToken": []}], path
            else:
                assert operation["security"] == [{"QueryToken": []}], path


def test_every_503_declares_retry_after_and_every_parameterised_endpoint_declares_422(
    document: dict[str, Any],
):
    for path, operations in document["paths"].items():
        for operation in operations.values():
            responses = operation["responses"]
            if "503" in responses:
                assert "Retry-After" in responses["503"]["headers"], path
            if operation.get("parameters"):
                assert "422" in responses, path
