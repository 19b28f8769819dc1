"""The WebSocket server (`websockets`): the handshake decides (`handshake.admit`), an
admitted charger gets a `Session` in its OCPP version and is held in the registry while
its connection lasts. Frames over `max_frame_bytes` close only that connection. Under
security profile 2 the same port speaks TLS only (`tls.server_context`), and a charger let
in on a replaced secret's password is given its current one (`password_renewal`)."""

from __future__ import annotations

import asyncio
import logging
import ssl
import weakref
from collections.abc import Awaitable, Callable, Iterable
from uuid import UUID

from pydantic import SecretStr
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from services.ocpp_gateway.credentials import ChargerPasswords, Login
from services.ocpp_gateway.handshake import Admitted, Answer, admit, one_authorization
from services.ocpp_gateway.metrics import GatewayMetrics
from services.ocpp_gateway.registry import Connected
from services.ocpp_gateway.session import Backing, Session
from services.ocpp_gateway.versions import DIALECTS, SUBPROTOCOLS

log = logging.getLogger(__name__)


class OcppServer:
    def __init__(
        self,
        backing: Backing,
        connected: Connected,
        charger_id: Callable[[str], Awaitable[UUID | None]],
        max_frame_bytes: int,
        passwords: ChargerPasswords | None = None,
        tls: ssl.SSLContext | None = None,
        *,
        renew_passwords: bool = False,
        metrics_tokens: Iterable[SecretStr] = (),
    ) -> None:
        """`renew_passwords`: give chargers let in on a replaced secret's password their
        current one (only over TLS: it is refused without `tls`). `metrics_tokens`: the
        bearer tokens `/metrics` answers (none: it answers no one)."""
        if renew_passwords and (tls is None or passwords is None):
            raise ValueError("passwords are renewed only over TLS, with passwords to check")
        self._renew_passwords = renew_passwords
        self._metrics_tokens = frozenset(metrics_tokens)
        self._backing = backing
        self._passwords = passwords
        self._tls = tls
        self._connected = connected
        self._charger_id = charger_id
        self._max_frame_bytes = max_frame_bytes
        self._admitted: weakref.WeakKeyDictionary[ServerConnection, Admitted] = (
            weakref.WeakKeyDictionary()
        )
        """From the handshake to the handler (gone with a connection that never opens)."""
        self._closing: set[asyncio.Task[None]] = set()
        self._server: Server | None = None

    @property
    def metrics(self) -> GatewayMetrics:
        return self._backing.metrics

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(next(iter(self._server.sockets)).getsockname()[1])

    async def start(self, host: str, port: int) -> None:
        self._server = await serve(
            self._handle,
            host,
            port,
            subprotocols=list(SUBPROTOCOLS),  # type: ignore[arg-type]
            process_request=self._process_request,
            max_size=self._max_frame_bytes,
            compression=None,
            ping_interval=60,
            ping_timeout=60,
            ssl=self._tls,
        )
        log.info("OCPP gateway on %s://%s:%d/ocpp/{serial_number} (%s)",
                 "ws" if self._tls is None else "wss", host, self.port,
                 "chargers give a password" if self._passwords else "no charger password")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        try:
            outcome = await admit(
                request.path,
                request.headers.get_all("Sec-WebSocket-Protocol"),
                SUBPROTOCOLS,
                self._charger_id,
                self.metrics.render,
                self._passwords,
                one_authorization(request.headers.get_all("Authorization")),
                self._metrics_tokens,
            )
        except Exception as error:  # the read model is out of reach: try again later
            log.warning("handshake of %s failed: %s", request.path, type(error).__name__)
            outcome = Answer(503, "unavailable\n", reason="unavailable")
        if isinstance(outcome, Admitted):
            if outcome.login is not None:
                self.metrics.logins[outcome.login.value] += 1
            self._admitted[connection] = outcome
            return None
        if outcome.reason:
            self.metrics.handshakes_refused[outcome.reason] += 1
        return _response(connection, outcome)

    async def _handle(self, connection: ServerConnection) -> None:
        admitted = self._admitted.pop(connection, None)
        dialect = DIALECTS.get(connection.subprotocol or "")
        if admitted is None or dialect is None:
            await connection.close(1002, "no charger")
            return
        session = Session(
            admitted.charger_id,
            connection,
            dialect,
            self._backing,
            lambda: self._close(connection),
            self._new_password(admitted),
        )
        await self._connected.hold(session)
        log.info("charger %s connected (%s)", admitted.serial_number, dialect.subprotocol)
        try:
            await session.run()
        except ConnectionClosed:
            pass
        finally:
            self._connected.release(session)
            log.info("charger %s disconnected", admitted.serial_number)

    def _new_password(self, admitted: Admitted) -> str | None:
        if not self._renew_passwords or admitted.login is not Login.ACCEPTED_PREVIOUS:
            return None
        assert self._passwords is not None
        return self._passwords.password(admitted.serial_number)

    def _close(self, connection: ServerConnection) -> None:
        """Close a connection from outside its handler (kept until done: tasks are weak)."""
        task = asyncio.create_task(connection.close(1000, "superseded or out of step"))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


def _response(connection: ServerConnection, answer: Answer) -> Response:
    response = connection.respond(answer.status, answer.body)
    headers = Headers(response.headers)
    del headers["Content-Type"]
    headers["Content-Type"] = answer.content_type
    for name, value in answer.headers:
        headers[name] = value
    response.headers = headers
    return response
