"""How the SMTP session is protected: TLS and login, from `SMTP_URL`, `SMTP_STARTTLS` and
`SMTP_CA_FILE`.

`smtp://user:password@host:587` logs in after STARTTLS (used whenever the server offers
it; `SMTP_STARTTLS=required` refuses a server that does not); `smtps://` speaks TLS from
the first byte. Credentials never travel in clear: a server that offers no TLS is not sent
them. The password stays out of `repr` and of every message.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from services.common.errors import SettingError

STARTTLS_POLICIES = ("auto", "required")
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


class SmtpSettingError(SettingError):
    """An SMTP setting that cannot work; the message names the variable, never a secret."""


@dataclass(frozen=True)
class SmtpSecurity:
    implicit_tls: bool = False
    """`smtps://`: TLS from the first byte."""
    starttls: str = "auto"
    """`SMTP_STARTTLS`: `auto` (use it when offered) or `required`."""
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""
    """`SMTP_CA_FILE`: the CA of the server's certificate (empty: the system's)."""

    def __post_init__(self) -> None:
        if self.starttls not in STARTTLS_POLICIES:
            raise SmtpSettingError(
                f"SMTP_STARTTLS must be one of {', '.join(STARTTLS_POLICIES)}, "
                f"not {self.starttls!r}")
        if bool(self.username) != bool(self.password):
            raise SmtpSettingError("SMTP_URL must give both a user and a password, or neither")

    @classmethod
    def from_settings(cls, url: str, starttls: str = "auto", ca_file: str = "") -> SmtpSecurity:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS:
            raise SmtpSettingError(
                f"SMTP_URL must start with smtp:// or smtps://, not {parts.scheme!r}://")
        return cls(
            implicit_tls=parts.scheme == "smtps",
            starttls=starttls.strip().lower() or "auto",
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            ca_file=ca_file,
        )

    @property
    def credentials(self) -> tuple[str, str] | None:
        return (self.username, self.password) if self.username else None

    def context(self) -> ssl.SSLContext:
        """A verifying client context (host name checked)."""
        try:
            return ssl.create_default_context(cafile=self.ca_file or None)
        except (OSError, ssl.SSLError) as error:
            raise SmtpSettingError(f"SMTP_CA_FILE unusable: {error}") from error

