from __future__ import annotations

import aiosmtplib
import pytest

from services.notifications.smtp import PermanentSmtpError, TransientSmtpError, classify


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (aiosmtplib.SMTPResponseException(421, "closing"), TransientSmtpError),
        (aiosmtplib.SMTPDataError(451, "try later"), TransientSmtpError),
        (aiosmtplib.SMTPDataError(554, "rejected"), PermanentSmtpError),
        (aiosmtplib.SMTPSenderRefused(553, "bad sender", "a@b"), PermanentSmtpError),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(550, "no such user", "a@b")]
            ),
            PermanentSmtpError,
        ),
        (
            aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(452, "mailbox full", "a@b")]
            ),
            TransientSmtpError,
        ),
        (aiosmtplib.SMTPConnectError("refused"), TransientSmtpError),
        (aiosmtplib.SMTPConnectResponseError(554, "go away"), TransientSmtpError),
        (aiosmtplib.SMTPServerDisconnected("gone"), TransientSmtpError),
        (aiosmtplib.SMTPReadTimeoutError("slow"), TransientSmtpError),
        (ConnectionRefusedError(), TransientSmtpError),
    ],
)
def test_4xx_and_connection_errors_are_transient_5xx_permanent(
    error: Exception, kind: type[Exception]
) -> None:
    assert type(classify(error)) is kind
