"""What a request to the gateway's port gets before any WebSocket exists: `/healthz` and
`/metrics` answered as plain HTTP (`/metrics` to one of `API_TOKENS` as a bearer token
only: this port faces the chargers' internet), and `/ocpp/{serial_number}` let through only for a
registered charger offering a subprotocol we speak and, under security profile 1 or 2,
giving its password (`credentials`). A refused charger costs one lookup at most: the
password is checked first, so an unauthenticated caller never reaches the read model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit
from uuid import UUID

from pydantic import SecretStr

from services.common.bearer import UNAUTHORIZED_HEADERS, bearer_allows
from services.common.prometheus import CONTENT_TYPE
from services.ocpp_gateway.credentials import ChargerPasswords, Login

PREFIX = "/ocpp/"
MAX_SERIAL = 200


@dataclass(frozen=True)
class Answer:
    """A plain HTTP answer, instead of a WebSocket."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"
    reason: str = ""
    """Why a charger was refused (the metrics' label); empty for health and metrics."""
    headers: tuple[tuple[str, str], ...] = ()


UNAUTHORIZED = Answer(401, "unauthorized\n", reason="unauthorized",
                      headers=(("WWW-Authenticate", 'Basic realm="OCPP", charset="UTF-8"'),))
METRICS_UNAUTHORIZED = Answer(401, "unauthorized\n", headers=UNAUTHORIZED_HEADERS)
"""No reason: a scraper without the token is not a refused charger."""


@dataclass(frozen=True)
class Admitted:
    charger_id: UUID
    serial_number: str
    login: Login | None = None
    """How its password fared (None: no security profile asks for one)."""


async def admit(
    path: str,
    offered: Iterable[str],
    spoken: Iterable[str],
    charger_id: Callable[[str], Awaitable[UUID | None]],
    metrics: Callable[[], str],
    passwords: ChargerPasswords | None = None,
    authorization: str | None = None,
    metrics_tokens: Iterable[SecretStr] = (),
) -> Answer | Admitted:
    route = urlsplit(path).path
    if (plain := _plain_http(route, metrics, authorization, metrics_tokens)) is not None:
        return plain
    serial = _serial(route)
    if serial is None:
        return Answer(404, "not found\n", reason="path")
    if not set(_protocols(offered)) & set(spoken):
        return Answer(
            400, f"subprotocol required: one of {', '.join(spoken)}\n", reason="subprotocol"
        )
    login = None if passwords is None else passwords.login(serial, authorization)
    if login in (Login.MISSING, Login.WRONG):
        return UNAUTHORIZED
    found = await charger_id(serial)
    if found is None:
        return Answer(404, "unknown charger\n", reason="unknown_charger")
    return Admitted(found, serial, login)


def one_authorization(values: list[str]) -> str | None:
    """The `Authorization` header of a handshake; several read as a wrong one ("")."""
    if not values:
        return None
    return values[0] if len(values) == 1 else ""


def _plain_http(route: str, metrics: Callable[[], str], authorization: str | None,
                tokens: Iterable[SecretStr]) -> Answer | None:
    if route == "/healthz":
        return Answer(200, '{"status":"ok"}\n', "application/json")
    if route == "/metrics":
        if not bearer_allows(authorization, tokens):
            return METRICS_UNAUTHORIZED
        return Answer(200, metrics(), CONTENT_TYPE)
    return None


def _serial(route: str) -> str | None:
    if not route.startswith(PREFIX):
        return None
    serial = unquote(route.removeprefix(PREFIX))
    return serial if serial and "/" not in serial and len(serial) <= MAX_SERIAL else None


def _protocols(headers: Iterable[str]) -> list[str]:
    return [p.strip() for header in headers for p in header.split(",") if p.strip()]
