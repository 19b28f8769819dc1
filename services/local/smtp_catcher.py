"""A local SMTP server that keeps every message as an `.eml` file instead of delivering it.

`make run` starts it when `SMTP_URL` is unset, so the invitation links can be read (and
clicked) from `var/mail/` on a machine without a mail server. Each file is written under a
temporary name and renamed, so a reader never sees half a message. Only the envelope and
the subject are logged, never the body: it carries single-use invitation tokens.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import uuid
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

log = logging.getLogger("smtp-catcher")


class MailDirHandler:
    """aiosmtpd handler: one `.eml` file per received message, with the envelope as headers."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        mail_dir.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        path = self.store(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        subject = message_from_bytes(path.read_bytes(), policy=policy.default)["Subject"]
        log.info("mail from %s to %s: %r -> %s",
                 envelope.mail_from, ", ".join(envelope.rcpt_tos), subject, path)
        return "250 OK"

    def store(self, mail_from: str, rcpt_tos: list[str], content: bytes | str) -> Path:
        """Write the message with X-Envelope-From/To headers prepended; return its path."""
        body = content.encode() if isinstance(content, str) else content
        head = f"X-Envelope-From: {mail_from}\r\nX-Envelope-To: {', '.join(rcpt_tos)}\r\n"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = self.mail_dir / f".{name}.part"
        partial.write_bytes(head.encode() + body)
        return partial.rename(self.mail_dir / name)


def start_catcher(mail_dir: Path, host: str = "127.0.0.1", port: int = 1025) -> Controller:
    """Start the server in a background thread; stop it with `.stop()`."""
    controller = Controller(MailDirHandler(mail_dir), hostname=host, port=port)
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> None:
    """Console script `smtp-catcher`: serve until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--mail-dir", type=Path, default=Path("var/mail"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")  # aiosmtpd chats at INFO
    log.setLevel(logging.INFO)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    controller = start_catcher(args.mail_dir, args.host, args.port)
    log.info("catching mail on smtp://%s:%d into %s", args.host, args.port, args.mail_dir)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
