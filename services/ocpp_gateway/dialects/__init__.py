"""What differs between OCPP 1.6 and 2.0.1 for the gateway, behind one interface: the
answers we give, how a token is shown to us, and how lists and their limits are asked.
The connection, the list sync and the metrics speak only through it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from services.access.api.authorize import Authorization
from services.access.local_lists.reads import ListAt
from services.ocpp_gateway.rpc import OcppLink, Payload


class Dialect(Protocol):
    subprotocol: str
    """The WebSocket subprotocol, e.g. `ocpp1.6`."""
    ocpp_version: str
    """As the `ocpp` package names the version (its schema folder): `1.6`, `2.0.1`."""
    known_actions: frozenset[str]

    def boot_answer(self, now: datetime, interval: int) -> Payload: ...

    def heartbeat_answer(self, now: datetime) -> Payload: ...

    def shown_token(self, request: Payload) -> tuple[str, str | None]:
        """An Authorize request's token and type (None: any type)."""
        ...

    def authorize_answer(self, decision: Authorization) -> Payload: ...

    def list_version(self, answer: Payload) -> int:
        """The version a `GetLocalListVersion` answer reports (-1: no list support)."""
        ...

    def full_request(self, found: ListAt) -> Payload:
        """`SendLocalList` carrying a list read from the read model."""
        ...

    def change_request(self, data: dict[str, Any]) -> Payload:
        """`SendLocalList` carried by a `LocalListChanged` event's data, unchanged."""
        ...

    async def items_per_message(self, link: OcppLink) -> int | None:
        """How many entries the charger takes in one `SendLocalList`; None: no limit known."""
        ...

    def password_request(self, password: str) -> tuple[str, Payload]:
        """The CALL (action, payload) that gives the charger a new Basic password."""
        ...

    def password_status(self, answer: Payload) -> str:
        """The charger's answer to `password_request`: `Accepted`, `Rejected`..."""
        ...


def positive_int(value: object) -> int | None:
    """A configuration value as a limit: a positive integer, else none."""
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if number > 0 else None
