"""The one SMTP server that receives our e-mails when nothing should really be delivered.

`make run`'s catcher writes each message to an `.eml` file with it; the tests, `make bench`
and `make faults` record, count and wait for messages, and make it refuse (4xx/5xx, at
RCPT or DATA) or go down and come back on the same port, to see what the notification
service does about it. It lives here, in the shipped package, because the catcher is
shipped; the tools import it from here.

Only the envelope and the subject are ever logged, never the body: it carries single-use
invitation tokens.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller

from charger_access_client.text import normalise_email
from services.local.tansu import free_port

log = logging.getLogger("smtp-sink")

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*?)\r?$", re.IGNORECASE | re.MULTILINE)

Stage = Literal["RCPT", "DATA"]


def message_id_of(content: bytes) -> str:
    """The Message-ID header's value (any case of the name), or "" when there is none.

    Read with a regex from the head, not a parse: the benchmark's sink takes thousands of
    messages a second and must not be what it measures."""
    head = content.split(b"\r\n\r\n", 1)[0]
    found = _MESSAGE_ID.search(head)
    return found.group(1).strip().decode(errors="replace") if found else ""


def _everyone(_address: str) -> bool:
    return True


@dataclass
class Refusal:
    """An answer other than 250 that the sink gives, for the recipients `to` accepts,
    until `until` (time.time()), at RCPT (per address) or DATA (per message)."""

    reply: str
    stage: Stage = "DATA"
    to: Callable[[str], bool] = _everyone
    until: float = math.inf
    once_per_message: bool = False
    """At DATA only: refuse each Message-ID the first time, accept it the next (greylisting)."""
    refused: int = 0
    refused_ids: set[str] = field(default_factory=set)
    """Message-IDs refused at DATA."""

    def applies(self, addresses: list[str], message_id: str = "") -> bool:
        if time.time() >= self.until or not any(self.to(a) for a in addresses):
            return False
        return not (self.once_per_message and message_id in self.refused_ids)


@dataclass(frozen=True)
class Delivery:
    """One accepted message for one of its recipients (normalised: addresses are compared
    case-insensitively everywhere), when it arrived (time.time())."""

    message_id: str
    recipient: str
    at: float


@dataclass
class Counts:
    """How many messages arrived, how many distinct Message-IDs (the notification service
    gives each (event, recipient) one stable Message-ID: a repeat is a duplicate), and when
    the first and the last arrived (time.monotonic())."""

    total: int = 0
    seen: set[str] = field(default_factory=set)
    first: float = 0.0
    last: float = 0.0

    def add(self, message_id: str) -> None:
        now = time.monotonic()
        if self.total == 0:
            self.first = now
        self.total += 1
        self.last = now
        self.seen.add(message_id or f"none-{self.total}")

    def stats(self) -> dict[str, Any]:
        return {"total": self.total, "unique": len(self.seen),
                "duplicates": self.total - len(self.seen), "first": self.first,
                "last": self.last}


class _Handler:
    """aiosmtpd's hooks, handed to the sink (they run on the server's own thread)."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        """Offer PIPELINING, as every mainstream MTA does: aiosmtpd answers pipelined
        commands in order (it reads one line at a time) but does not say so itself."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if refusal := self.sink.refusal_for("RCPT", [address]):
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else content.encode()
        return self.sink.receive(envelope.mail_from, list(envelope.rcpt_tos), raw)


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1:`port` (a thread of its own) that accepts what it is
    sent, except what a `Refusal` says. `keep=False` only counts (and writes `.eml` files
    when given `mail_dir`): for long runs and the benchmark, where nothing reads them back.
    `stop()` then `start()` takes it down and brings it back on the same port."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", *, keep: bool = True,
                 mail_dir: Path | None = None, server_options: dict[str, Any] | None = None,
                 ) -> None:
        port = port or free_port()
        self.server_options = server_options or {}
        """More aiosmtpd `Controller` arguments: TLS (`tls_context`, `ssl_context`), AUTH."""
        self.host, self.port, self.keep, self.mail_dir = host, port, keep, mail_dir
        self.url = f"smtp://{host}:{port}"
        self.refusals: list[Refusal] = []
        self.refused = 0
        """Answers other than 250 given so far, by every refusal, lifted or not."""
        self._messages: list[Message] = []
        self._deliveries: list[Delivery] = []
        self._counts = Counts()
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        if mail_dir is not None:
            mail_dir.mkdir(parents=True, exist_ok=True)

    # --- up and down -------------------------------------------------------------------

    @property
    def up(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Serve (again); a stopped aiosmtpd Controller cannot start twice: a new one."""
        if self._controller is None:
            controller = Controller(_Handler(self), hostname=self.host, port=self.port,
                                    **self.server_options)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    # --- refusing ------------------------------------------------------------------------

    def refuse(self, reply: str, *, stage: Stage = "DATA", to: Callable[[str], bool] | None = None,
               seconds: float | None = None, once_per_message: bool = False) -> Refusal:
        """Answer `reply` instead of 250 (for `seconds`, else until `allow()`)."""
        refusal = Refusal(reply, stage, to or _everyone,
                          math.inf if seconds is None else time.time() + seconds,
                          once_per_message)
        with self._lock:
            self.refusals.append(refusal)
        return refusal

    def allow(self) -> None:
        """Lift every refusal: accept everything again."""
        with self._lock:
            self.refusals.clear()

    def refusal_for(self, stage: Stage, addresses: list[str], message_id: str = "") -> str | None:
        with self._lock:
            for refusal in self.refusals:
                if refusal.stage == stage and refusal.applies(addresses, message_id):
                    refusal.refused += 1
                    self.refused += 1
                    if message_id:
                        refusal.refused_ids.add(message_id)
                    return refusal.reply
        return None

    # --- receiving -----------------------------------------------------------------------

    def receive(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> str:
        """Record one message (unless a DATA refusal applies); the SMTP answer."""
        message_id = message_id_of(content)
        if refusal := self.refusal_for("DATA", rcpt_tos, message_id):
            return refusal
        if self.mail_dir is not None:
            self.store(mail_from, rcpt_tos, content)
        now = time.time()
        parsed: Message | None = None
        if self.keep:
            parsed = message_from_bytes(content)
            parsed["X-Envelope-To"] = ", ".join(rcpt_tos)
        with self._lock:
            self._counts.add(message_id)
            if parsed is not None:
                self._messages.append(parsed)
                self._deliveries.extend(Delivery(message_id, normalise_email(r), now)
                                        for r in rcpt_tos)
        return "250 OK"

    def store(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> Path:
        """Write the message into `mail_dir` with X-Envelope-From/To headers prepended,
        under a temporary name then renamed, so a reader never sees half a message."""
        assert self.mail_dir is not None
        head = f"X-Envelope-From: {mail_from}\r\nX-Envelope-To: {', '.join(rcpt_tos)}\r\n"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = self.mail_dir / f".{name}.part"
        partial.write_bytes(head.encode() + content)
        path = partial.rename(self.mail_dir / name)
        subject = message_from_bytes(path.read_bytes(), policy=policy.default)["Subject"]
        log.info("mail from %s to %s: %r -> %s", mail_from, ", ".join(rcpt_tos), subject, path)
        return path

    # --- reading back ----------------------------------------------------------------------

    @property
    def messages(self) -> list[Message]:
        """Every accepted message, parsed, with the envelope's recipients as X-Envelope-To."""
        with self._lock:
            return list(self._messages)

    def to(self, address: str) -> list[Message]:
        """The messages whose envelope named exactly `address`."""
        return [m for m in self.messages if m["X-Envelope-To"] == address]

    def deliveries(self) -> list[Delivery]:
        """(Message-ID, recipient, when) of every accepted message, per recipient."""
        with self._lock:
            return list(self._deliveries)

    def count(self) -> int:
        """Deliveries so far (a message to two recipients counts twice)."""
        with self._lock:
            return len(self._deliveries)

    def stats(self) -> dict[str, Any]:
        """Messages in all, distinct Message-IDs, duplicates, first and last arrival."""
        with self._lock:
            return self._counts.stats()

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[Message]:  # noqa: ASYNC109
        """The messages, once at least `count` arrived; TimeoutError after `timeout` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(found := self.messages) < count:
            if loop.time() > deadline:
                raise TimeoutError(f"{len(found)} of {count} e-mails arrived")
            await asyncio.sleep(0.05)
        return found
