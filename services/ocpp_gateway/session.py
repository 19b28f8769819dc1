"""One charger's connection: answers its CALLs (BootNotification, Heartbeat,
StatusNotification, Authorize) in its OCPP version and keeps its local list in step, until
the connection closes. The two jobs run side by side on the one link, with, for a charger
that logged in with a replaced secret's password, the renewal of its password."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from websockets.exceptions import ConnectionClosed

from services.ocpp_gateway.authorize import Authorizer
from services.ocpp_gateway.changes import ListChange
from services.ocpp_gateway.dialects import Dialect
from services.ocpp_gateway.list_sync import Lists, ListSync
from services.ocpp_gateway.metrics import GatewayMetrics
from services.ocpp_gateway.password_renewal import renew_password
from services.ocpp_gateway.rpc import Handler, OcppLink, Payload, Socket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backing:
    """What every session shares: the read model and the counters."""

    authorizer: Authorizer
    lists: Lists
    metrics: GatewayMetrics
    heartbeat_seconds: int
    call_timeout: float
    recheck_seconds: float = 60.0


class Session:
    def __init__(
        self,
        charger_id: UUID,
        socket: Socket,
        dialect: Dialect,
        backing: Backing,
        close: Callable[[], object],
        new_password: str | None = None,
    ) -> None:
        """`new_password`: the password to give the charger once connected
        (`password_renewal`); None: it has the current one, or the profile sends none."""
        self.charger_id = charger_id
        self._new_password = new_password
        self.ocpp_version = dialect.ocpp_version
        self._dialect = dialect
        self._backing = backing
        self._close = close
        self.link = OcppLink(
            socket,
            dialect.ocpp_version,
            self._handlers(),
            dialect.known_actions,
            call_timeout=backing.call_timeout,
            on_bad_frame=backing.metrics.bad_frame,
        )
        self.sync = ListSync(
            charger_id,
            self.link,
            dialect,
            backing.lists,
            backing.metrics,
            backing.recheck_seconds,
        )

    def changed(self, change: ListChange) -> None:
        self.sync.changed(change)

    async def replaced(self) -> None:
        """The charger connected again elsewhere on this instance: drop this connection."""
        self._close()

    async def run(self) -> None:
        """Serve the charger until its connection closes. A list sync that fails (no answer
        in time, a broken payload) closes the connection: the charger reconnects and catches
        up from the read model, which is the truth."""
        jobs = [asyncio.create_task(self._keep_list())]
        if self._new_password is not None:
            jobs.append(asyncio.create_task(self._renew(self._new_password)))
        try:
            await self.link.serve()
        finally:
            for job in jobs:
                job.cancel()
            self.link.close()
            await asyncio.gather(*jobs, return_exceptions=True)

    async def _renew(self, password: str) -> None:
        """Never ends the connection: a charger that did not take it keeps the old password
        and is asked again at its next connection."""
        try:
            await renew_password(self.charger_id, self.link, self._dialect, password,
                                 self._backing.metrics)
        except (asyncio.CancelledError, ConnectionClosed):
            raise
        except Exception as error:  # an answer we could not read
            log.warning("charger %s: password renewal failed (%s: %s)", self.charger_id,
                        type(error).__name__, error)

    async def _keep_list(self) -> None:
        try:
            await self.sync.run()
        except asyncio.CancelledError:
            raise
        except ConnectionClosed:
            return  # the charger left; `run` ends with the reading side
        except Exception as error:
            log.warning(
                "charger %s: list sync stopped (%s: %s); closing its connection",
                self.charger_id,
                type(error).__name__,
                error,
            )
            self._close()

    def _handlers(self) -> dict[str, Handler]:
        return {
            "BootNotification": self._boot,
            "Heartbeat": self._heartbeat,
            "StatusNotification": self._status,
            "Authorize": self._authorize,
        }

    async def _boot(self, _: Payload) -> Payload:
        return self._dialect.boot_answer(datetime.now(UTC), self._backing.heartbeat_seconds)

    async def _heartbeat(self, _: Payload) -> Payload:
        return self._dialect.heartbeat_answer(datetime.now(UTC))

    async def _status(self, _: Payload) -> Payload:
        return {}

    async def _authorize(self, request: Payload) -> Payload:
        token, key_type = self._dialect.shown_token(request)
        decision = await self._backing.authorizer.decide(self.charger_id, token, key_type)
        answer = self._dialect.authorize_answer(decision)
        status = next(iter(answer.values()))["status"]
        self._backing.metrics.authorize[self.ocpp_version, status] += 1
        return answer
