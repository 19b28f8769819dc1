"""An SMTP server that only counts: messages, distinct Message-IDs, when the last arrived.

It runs in a process of its own (so its parsing does not share our GIL) and answers
`stats` / `reset` over a pipe. Duplicates are messages whose Message-ID was seen before:
the notification service gives each (event, recipient) one stable Message-ID.
"""

from __future__ import annotations

import multiprocessing
import re
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*?)\r?$", re.IGNORECASE | re.MULTILINE)


def message_id_of(content: bytes) -> bytes:
    """The Message-ID header's value (case-insensitive name), or b"" when there is none."""
    head = content.split(b"\r\n\r\n", 1)[0]
    found = _MESSAGE_ID.search(head)
    return found.group(1).strip() if found else b""


@dataclass
class Counter:
    total: int = 0
    seen: set[bytes] = field(default_factory=set)
    first: float = 0.0
    last: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, message_id: bytes) -> None:
        now = time.monotonic()
        with self.lock:
            if self.total == 0:
                self.first = now
            self.total += 1
            self.last = now
            self.seen.add(message_id or f"none-{self.total}".encode())

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"total": self.total, "unique": len(self.seen),
                    "duplicates": self.total - len(self.seen), "first": self.first,
                    "last": self.last}


class _Handler:
    def __init__(self, counter: Counter) -> None:
        self.counter = counter

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode()
        self.counter.add(message_id_of(content))
        return "250 OK"


def serve(port: int, conn: Connection) -> None:
    """Child process entry: serve on 127.0.0.1:`port` until told to stop."""
    from aiosmtpd.controller import Controller  # noqa: PLC0415 - only in the child

    counter = Counter()
    controller = Controller(_Handler(counter), hostname="127.0.0.1", port=port,
                            data_size_limit=4 * 1024 * 1024)
    controller.start()
    conn.send("ready")
    try:
        while True:
            command = conn.recv()
            if command == "stats":
                conn.send(counter.stats())
            elif command == "stop":
                break
    except EOFError:
        pass
    finally:
        controller.stop()


class SinkProcess:
    """The sink as a child process; `stats()` asks it how much has arrived."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"smtp://127.0.0.1:{port}"
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve, args=(port, child), daemon=True,
                                        name="bench-smtp-sink")
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self, timeout: float = 20.0) -> None:
        self._process.start()
        if not self._conn.poll(timeout):
            raise TimeoutError("the SMTP sink did not start")
        self._conn.recv()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            self._conn.send("stats")
            result: dict[str, Any] = self._conn.recv()
            return result

    def stop(self) -> None:
        if self._process.is_alive():
            try:
                with self._lock:
                    self._conn.send("stop")
            except OSError:
                pass
            self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
