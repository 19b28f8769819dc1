"""What the shared settings print: a URL shown at start keeps its password hidden."""

from __future__ import annotations

from services.common.config import redacted


def test_urls_printed_at_start_hide_their_password() -> None:
    assert redacted("smtp://mailer:p%40ss@mail.example:587") == "smtp://mailer:***@mail.example:587"
    assert redacted("postgresql://app:pw@db/x") == "postgresql://app:***@db/x"
    assert redacted("smtp://127.0.0.1:1025") == "smtp://127.0.0.1:1025"
