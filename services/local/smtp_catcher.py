"""A local SMTP server that keeps every message as an `.eml` file instead of delivering it.

`make run` starts it when `SMTP_URL` is unset, so the invitation links can be read (and
clicked) from `var/mail/` on a machine without a mail server. It is the shared SMTP sink
(`smtp_sink`) writing into a mail folder and keeping nothing in memory, as a console
script. Only the envelope and the subject are logged, never the body: it carries
single-use invitation tokens.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from services.local.smtp_sink import SmtpSink

log = logging.getLogger("smtp-catcher")


def start_catcher(mail_dir: Path, host: str = "127.0.0.1", port: int = 1025) -> SmtpSink:
    """Start the server in a background thread; stop it with `.stop()`."""
    sink = SmtpSink(port, host, keep=False, mail_dir=mail_dir)
    sink.start()
    return sink


def main(argv: list[str] | None = None) -> None:
    """Console script `smtp-catcher`: serve until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--mail-dir", type=Path, default=Path("var/mail"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")  # aiosmtpd chats at INFO
    for name in ("smtp-catcher", "smtp-sink"):
        logging.getLogger(name).setLevel(logging.INFO)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    catcher = start_catcher(args.mail_dir, args.host, args.port)
    log.info("catching mail on smtp://%s:%d into %s", args.host, args.port, args.mail_dir)
    stop.wait()
    catcher.stop()


if __name__ == "__main__":
    main()
