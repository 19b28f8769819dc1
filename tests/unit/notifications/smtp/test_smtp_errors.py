from __future__ import annotations

import pytest

from services.notifications.smtp.pool import PermanentSmtpError, TransientSmtpError, classify
from services.notifications.smtp.replies import ConnectionLostError, Reply, ReplyError


@pytest.mark.parametrize(
    ("error", "kind", "server_down"),
    [
        (ReplyError(Reply(421, "closing"), "MAIL"), TransientSmtpError, True),
        (ReplyError(Reply(451, "try later"), "end of data"), TransientSmtpError, False),
        (ReplyError(Reply(452, "mailbox full"), "RCPT"), TransientSmtpError, False),
        (ReplyError(Reply(554, "rejected"), "end of data"), PermanentSmtpError, None),
        (ReplyError(Reply(553, "bad sender"), "MAIL"), PermanentSmtpError, None),
        (ReplyError(Reply(550, "no such user"), "RCPT"), PermanentSmtpError, None),
        (ConnectionLostError("session refused: 554 go away"), TransientSmtpError, True),
        (ConnectionLostError("no answer"), TransientSmtpError, True),
        (ConnectionRefusedError(), TransientSmtpError, True),
    ],
)
def test_4xx_and_connection_errors_are_transient_5xx_permanent(
    error: Exception, kind: type[Exception], server_down: bool | None
) -> None:
    classified = classify(error)
    assert type(classified) is kind
    if isinstance(classified, TransientSmtpError):
        assert classified.server_down is server_down
