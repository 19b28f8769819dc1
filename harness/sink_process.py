"""The SMTP sink in a process of its own, counting only, for the benchmark: its SMTP
parsing must not share the benchmark's GIL. It answers `stats` over a pipe."""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.connection import Connection
from typing import Any

from services.local.smtp_sink import SmtpSink
from services.local.tansu import free_port


def serve(port: int, conn: Connection) -> None:
    """Child process entry: serve on 127.0.0.1:`port` until told to stop."""
    sink = SmtpSink(port, keep=False)
    sink.start()
    conn.send("ready")
    try:
        while True:
            command = conn.recv()
            if command == "stats":
                conn.send(sink.stats())
            elif command == "stop":
                break
    except EOFError:
        pass
    finally:
        sink.stop()


class SinkProcess:
    """The sink as a child process; `stats()` asks it how much has arrived."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve, args=(self.port, child), daemon=True,
                                        name="smtp-sink")
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
