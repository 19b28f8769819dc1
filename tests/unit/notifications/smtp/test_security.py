"""`SMTP_URL`, `SMTP_STARTTLS` and `SMTP_CA_FILE`: read as README documents them, refused
at start when they cannot work (naming the variable, never the password), and every
reason a send can fail has its own count on `/metrics`."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.config import Settings
from services.notifications.config import NotificationSettings
from services.notifications.delivery.health import Stats
from services.notifications.http import render_metrics
from services.notifications.smtp.pool import REASONS, classify
from services.notifications.smtp.replies import (
    AuthenticationError,
    Reply,
    ReplyError,
    TlsFailedError,
    TlsUnavailableError,
)
from services.notifications.smtp.security import SmtpSecurity, SmtpSettingError

ROOT = Path(__file__).resolve().parents[4]


def test_defaults_use_starttls_when_offered_without_a_login() -> None:
    security = NotificationSettings().smtp_security
    assert security == SmtpSecurity()
    assert (security.implicit_tls, security.starttls, security.credentials) == (False, "auto", None)


def test_the_variables_reach_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_URL", "smtps://no-reply%40example.com:pa%3Ass@mail.example.com")
    monkeypatch.setenv("SMTP_STARTTLS", "Required")
    monkeypatch.setenv("SMTP_CA_FILE", "/etc/ca.pem")
    settings = NotificationSettings.from_env()
    security = settings.smtp_security
    assert security.credentials == ("no-reply@example.com", "pa:ss")
    assert (security.implicit_tls, security.starttls, security.ca_file) == (
        True, "required", "/etc/ca.pem")
    assert settings.common.smtp_host_port == ("mail.example.com", 465)
    assert "pa:ss" not in repr(settings)
    assert "pa%3Ass" not in repr(settings)


@pytest.mark.parametrize(("url", "starttls", "named"), [
    ("http://u:hunter2@h:25", "auto", "SMTP_URL"),
    ("smtp://u@h:25", "auto", "SMTP_URL"),
    ("smtp://h:25", "always", "SMTP_STARTTLS"),
])
def test_a_setting_that_cannot_work_is_refused_at_start(url: str, starttls: str, named: str
                                                        ) -> None:
    with pytest.raises(SmtpSettingError, match=named) as refused:
        NotificationSettings(common=Settings(smtp_url=url), smtp_starttls=starttls)
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(("error", "reason"), [
    (ReplyError(Reply(451, "later"), "RCPT"), "deferred"),
    (ReplyError(Reply(550, "no"), "RCPT"), "refused"),
    (ConnectionRefusedError(), "connection"),
    (TlsUnavailableError("no STARTTLS"), "tls_unavailable"),
    (TlsFailedError("bad certificate"), "tls_failed"),
    (AuthenticationError("535 invalid"), "auth_refused"),
])
def test_each_failure_has_its_reason_and_login_or_tls_trouble_holds_every_email(
    error: Exception, reason: str
) -> None:
    classified = classify(error)
    assert classified.reason == reason
    assert reason in REASONS
    if reason in ("tls_unavailable", "tls_failed", "auth_refused"):
        assert classified.code is None  # transient, and the whole server is "down"


async def test_failures_by_reason_are_on_the_metrics_page() -> None:
    class Deliverer:
        stats = Stats(smtp_failures={"auth_refused": 4})

        class health:  # noqa: N801
            up = False

    async def depth() -> None:
        raise TimeoutError

    text = await render_metrics(Deliverer(), depth)  # type: ignore[arg-type]
    lines = text.splitlines()
    assert 'notifications_smtp_failures_total{reason="auth_refused"} 4' in lines
    assert 'notifications_smtp_failures_total{reason="tls_unavailable"} 0' in lines
    assert "# TYPE notifications_smtp_failures_total counter" in lines


def test_readme_documents_and_compose_forwards_every_smtp_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    compose = (ROOT / "docker-compose.yml").read_text()
    for name in ("SMTP_URL", "SMTP_STARTTLS", "SMTP_CA_FILE"):
        assert f"| `{name}` |" in readme
        assert f"{name}: ${{{name}:-" in compose
