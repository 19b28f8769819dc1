"""Renewing a charger's password: the CALL each version sends is OCPP's own (checked
against the schemas shipped in the `ocpp` package), every answer is counted by its status,
and the server never renews in clear."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.ocpp_gateway.credentials import ChargerPasswords
from services.ocpp_gateway.dialects import Dialect
from services.ocpp_gateway.dialects.v16 import Ocpp16
from services.ocpp_gateway.dialects.v201 import Ocpp201
from services.ocpp_gateway.metrics import GatewayMetrics
from services.ocpp_gateway.password_renewal import renew_password
from services.ocpp_gateway.rpc import CallRefused, Payload
from services.ocpp_gateway.server import OcppServer
from tests.ocpp_schemas import validate

NEW = "ab" * 20


class Answering:
    """A link whose charger answers one way (a payload, or an exception raised)."""

    def __init__(self, answer: Payload | BaseException) -> None:
        self.answer = answer
        self.sent: list[tuple[str, Payload]] = []

    async def call(self, action: str, payload: Payload) -> Payload:
        self.sent.append((action, payload))
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def answer_16(status: str) -> Payload:
    return {"status": status}


def answer_201(status: str) -> Payload:
    return {"setVariableResult": [{"attributeStatus": status,
                                   "component": {"name": "SecurityCtrlr"},
                                   "variable": {"name": "BasicAuthPassword"}}]}


@pytest.mark.parametrize(("dialect", "action", "answer"), [
    (Ocpp16(), "ChangeConfiguration", answer_16),
    (Ocpp201(), "SetVariables", answer_201),
])
@pytest.mark.parametrize("status", ["Accepted", "Rejected", "RebootRequired"])
async def test_each_version_sends_its_own_call_and_counts_the_answer(
    dialect: Dialect, action: str, answer: Any, status: str
) -> None:
    metrics = GatewayMetrics(dict)
    link = Answering(answer(status))
    validate(dialect.ocpp_version, action + "Response", answer(status))

    got = await renew_password(uuid.uuid4(), link, dialect, NEW,  # type: ignore[arg-type]
                               metrics)

    assert got == status
    [(sent_action, payload)] = link.sent
    assert sent_action == action
    validate(dialect.ocpp_version, action + ("" if dialect.ocpp_version == "1.6" else "Request"),
             payload)
    assert NEW in str(payload)
    assert metrics.password_renewals == {(dialect.ocpp_version, status): 1}
    assert NEW not in metrics.render()


@pytest.mark.parametrize(("refusal", "counted"), [
    (CallRefused("NotSupported", "no such key"), "CallError"),
    (TimeoutError(), "NoAnswer"),
])
async def test_a_charger_that_cannot_take_it_is_counted_and_the_call_ends(
    refusal: BaseException, counted: str
) -> None:
    metrics = GatewayMetrics(dict)
    got = await renew_password(uuid.uuid4(), Answering(refusal), Ocpp16(), NEW,  # type: ignore[arg-type]
                               metrics)
    assert got == counted
    assert metrics.password_renewals == {("1.6", counted): 1}


def test_the_server_never_renews_a_password_in_clear() -> None:
    backing: Any = object()
    with pytest.raises(ValueError, match="TLS"):
        OcppServer(backing, None, None, 1024,  # type: ignore[arg-type]
                   ChargerPasswords(b"s" * 32), None, renew_passwords=True)
