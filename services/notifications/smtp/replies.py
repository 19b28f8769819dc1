"""What an SMTP server can answer, and the ways a session fails (RFC 5321 4.2).

`pool` sorts these into transient and permanent failures, and into the server's
failures and one e-mail's; `wire` raises them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REPLY_LINE = re.compile(rb"([2-5][0-9][0-9])([ -])(.*)")
"""One line of a reply: its code, `-` (more lines follow) or a space (the last), its text."""


@dataclass(frozen=True)
class Reply:
    code: int
    text: str


class ReplyError(Exception):
    """The server answered, but not with what the step needs."""

    def __init__(self, reply: Reply, step: str) -> None:
        super().__init__(f"{reply.code} {reply.text} (after {step})")
        self.reply = reply
        self.step = step


class ConnectionLostError(ConnectionError):
    """The connection broke, timed out, or the server spoke something that is not SMTP."""


class TlsUnavailableError(ConnectionLostError):
    """The server offers no STARTTLS while it is required (or credentials are to be sent)."""


class TlsFailedError(ConnectionLostError):
    """The TLS handshake failed: an untrusted or wrong certificate, or no common protocol."""


class AuthenticationError(ConnectionLostError):
    """The server refused our login: every e-mail would fail the same way until the
    credentials are fixed, so this is a server-level failure, not this e-mail's."""
