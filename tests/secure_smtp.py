"""An SMTP sink that speaks TLS (STARTTLS or from the first byte) and wants a login, with
a certificate the test made, and credentials the test can change while it runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import AuthResult, LoginPassword

from services.local.smtp_sink import SmtpSink
from tests.certificates import ServerCertificate


@dataclass
class Logins:
    """Who may log in (changeable at any time), and every attempt, by mechanism."""

    accepted: dict[str, str] = field(default_factory=dict)
    attempts: list[tuple[str, str, bool]] = field(default_factory=list)
    """(mechanism, user, accepted)"""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, _server: Any, _session: Any, _envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        with self._lock:
            ok = self.accepted.get(user) == password
            self.attempts.append((mechanism, user, ok))
        return AuthResult(success=ok, handled=False)  # handled=True: no reply at all


def secure_sink(certificate: ServerCertificate | None, logins: Logins | None = None, *,
                implicit: bool = False, exclude: tuple[str, ...] = ()) -> SmtpSink:
    """STARTTLS offered (or TLS from the first byte with `implicit`) when given a
    certificate; AUTH required when given `logins` (offered only over TLS)."""
    options: dict[str, Any] = {}
    if certificate is not None:
        context = certificate.server_context()
        if implicit:
            options["ssl_context"] = context
        else:
            options["tls_context"] = context
    if logins is not None:
        options.update(authenticator=logins, auth_required=True,
                       auth_exclude_mechanism=list(exclude))
    if logins is not None and (certificate is None or implicit):
        # Without a certificate: a server offering AUTH in clear (badly set up). With TLS
        # from the first byte, aiosmtpd does not know the session is encrypted.
        options["auth_require_tls"] = False
    return SmtpSink(server_options=options)

