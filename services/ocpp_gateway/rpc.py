"""OCPP-J on one WebSocket: CALLs from the charger dispatched to handlers, our own CALLs
matched with their answers, every payload checked against the OCPP schemas (the `ocpp`
package's messages and validators) in both directions.

Bad input costs only the frame it came in: a frame that is not OCPP-J (no unique id to
answer) is counted and dropped; a CALL for an action we do not serve gets a CALLERROR
(`NotImplemented` when the version has no such action, `NotSupported` when it has);
a payload that breaks the schema gets the CALLERROR the validator names.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallError, CallResult, unpack, validate_payload

from services.common.timeouts import wait_for

log = logging.getLogger(__name__)

Payload = dict[str, Any]
Handler = Callable[[Payload], Awaitable[Payload]]


class Socket(Protocol):
    """What the link needs of a WebSocket connection."""

    async def recv(self) -> str | bytes: ...

    async def send(self, message: str) -> None: ...


class CallRefused(Exception):  # noqa: N818 - the charger's CALLERROR, not a bug of ours
    """The charger answered our CALL with a CALLERROR."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code


class OcppLink:
    def __init__(
        self,
        socket: Socket,
        ocpp_version: str,
        handlers: Mapping[str, Handler],
        known_actions: frozenset[str],
        *,
        call_timeout: float,
        on_bad_frame: Callable[[], None] = lambda: None,
    ) -> None:
        self._socket = socket
        self._version = ocpp_version
        self._handlers = handlers
        self._known = known_actions
        self._timeout = call_timeout
        self._on_bad_frame = on_bad_frame
        self._waiting: dict[str, tuple[str, asyncio.Future[Any]]] = {}
        self._call_lock = asyncio.Lock()

    async def serve(self) -> None:
        """Read frames until the connection closes (its exception ends this)."""
        while True:
            frame = await self._socket.recv()
            await self._route(frame)

    async def call(self, action: str, payload: Payload) -> Payload:
        """Send one CALL and return the answer's payload; one at a time, as OCPP-J wants.
        Raises `CallRefused`, `TimeoutError`, or the connection's exception."""
        request = Call(str(uuid.uuid4()), action, payload)
        await validate_payload(request, self._version)
        async with self._call_lock:
            answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._waiting[request.unique_id] = action, answer
            try:
                await self._socket.send(request.to_json())
                result = await wait_for(answer, self._timeout)
            finally:
                self._waiting.pop(request.unique_id, None)
        if isinstance(result, CallError):
            raise CallRefused(str(result.error_code), str(result.error_description))
        await validate_payload(result, self._version)
        return dict(result.payload)

    async def _route(self, frame: str | bytes) -> None:
        try:
            message = unpack(frame)
            if not isinstance(message.unique_id, str):
                raise TypeError("unique id is not a string")
        except (OCPPError, TypeError, ValueError, IndexError):
            self._on_bad_frame()
            return
        if isinstance(message, Call):
            await self._answer(message)
        elif message.unique_id in self._waiting:
            action, answer = self._waiting[message.unique_id]
            if isinstance(message, CallResult):
                message.action = action
            if not answer.done():
                answer.set_result(message)

    async def _answer(self, call: Call) -> None:
        handler = self._handlers.get(call.action) if isinstance(call.action, str) else None
        try:
            if handler is None:
                raise _refusal(call.action, self._known)
            if not isinstance(call.payload, dict):
                raise _Refusal("FormatViolation", "payload is not an object")
            await validate_payload(call, self._version)
            result = call.create_call_result(await handler(call.payload))
            await validate_payload(result, self._version)
            reply = result.to_json()
        except _Refusal as refusal:
            reply = CallError(call.unique_id, refusal.code, refusal.description, {}).to_json()
        except OCPPError as error:
            reply = CallError(call.unique_id, error.code, error.description, {}).to_json()
        except Exception:
            log.exception("answering %s failed", call.action)
            reply = CallError(call.unique_id, "InternalError", "not answered", {}).to_json()
        await self._socket.send(reply)

    def close(self) -> None:
        """Fail the CALL in flight: the connection is gone."""
        for _, answer in self._waiting.values():
            with contextlib.suppress(asyncio.InvalidStateError):
                answer.cancel()


class _Refusal(Exception):  # noqa: N818 - an answer, not an error of ours
    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _refusal(action: object, known: frozenset[str]) -> _Refusal:
    if action in known:
        return _Refusal("NotSupported", f"{action} is not served here")
    return _Refusal("NotImplemented", "unknown action")
