"""The committed OpenAPI document is the API's contract: it must match the code."""

from __future__ import annotations

from pathlib import Path

from services.access.api.openapi import openapi_document

DOC = Path(__file__).resolve().parents[4] / "docs" / "openapi.json"


def test_committed_openapi_document_matches_the_code():
    assert DOC.read_text() == openapi_document(), (
        "docs/openapi.json is out of date: "
        "run `python -m services.access.api.openapi > docs/openapi.json`"
    )


def test_openapi_document_lists_every_query_endpoint():
    import json

    paths = set(json.loads(openapi_document())["paths"])
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
