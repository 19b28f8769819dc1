"""The gateway's security profile settings: what cannot work is refused at start with a
line naming its variable, and `ocpp-gateway password` prints what the gateway accepts."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from services.common.errors import SettingError
from services.ocpp_gateway.config import GatewaySettings
from services.ocpp_gateway.credentials import Login, password
from services.ocpp_gateway.main import main
from services.ocpp_gateway.tls import server_context
from tests.certificates import make_server_certificate
from tests.unit.ocpp_gateway.test_credentials import basic

SECRET = "x" * 32


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OCPP_SECURITY_PROFILE", "OCPP_AUTH_SECRET", "OCPP_AUTH_SECRET_PREVIOUS",
                 "OCPP_TLS_CERT_FILE", "OCPP_TLS_KEY_FILE", "OCPP_RENEW_PASSWORDS"):
        monkeypatch.delenv(name, raising=False)


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> GatewaySettings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return GatewaySettings()


def test_profile_0_is_the_default_and_asks_no_password(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings(monkeypatch).passwords() is None


@pytest.mark.parametrize(("env", "named"), [
    ({"OCPP_SECURITY_PROFILE": "1"}, "OCPP_AUTH_SECRET"),
    ({"OCPP_SECURITY_PROFILE": "2", "OCPP_AUTH_SECRET": SECRET}, "OCPP_TLS_CERT_FILE"),
    ({"OCPP_SECURITY_PROFILE": "1", "OCPP_AUTH_SECRET": "short"}, "at least 32 bytes"),
    ({"OCPP_SECURITY_PROFILE": "1", "OCPP_AUTH_SECRET": SECRET,
      "OCPP_AUTH_SECRET_PREVIOUS": f"{SECRET},short"}, "at least 32 bytes"),
    ({"OCPP_AUTH_SECRET": SECRET}, "OCPP_SECURITY_PROFILE 1 or 2"),
    ({"OCPP_SECURITY_PROFILE": "1", "OCPP_AUTH_SECRET": SECRET, "OCPP_TLS_CERT_FILE": "c"},
     "OCPP_SECURITY_PROFILE=2"),
    ({"OCPP_SECURITY_PROFILE": "3"}, "OCPP_SECURITY_PROFILE"),
])
def test_what_cannot_work_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingError, match=named) as refused:
        settings(monkeypatch, **env)
    assert SECRET not in str(refused.value)


def test_profile_2_with_its_files_and_previous_secrets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    files = make_server_certificate(tmp_path)
    old = "o" * 40
    chosen = settings(monkeypatch, OCPP_SECURITY_PROFILE="2", OCPP_AUTH_SECRET=SECRET,
                      OCPP_AUTH_SECRET_PREVIOUS=f" {old} ,", OCPP_TLS_CERT_FILE=str(files.cert_file),
                      OCPP_TLS_KEY_FILE=str(files.key_file))
    passwords = chosen.passwords()
    assert passwords is not None
    assert passwords.login("SN", basic("SN", password(old.encode(), "SN"))) is (
        Login.ACCEPTED_PREVIOUS)
    assert SECRET not in repr(chosen)
    assert chosen.renews_passwords()


def test_passwords_are_renewed_over_tls_only_and_may_be_turned_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    files = make_server_certificate(tmp_path)
    tls = {"OCPP_TLS_CERT_FILE": str(files.cert_file), "OCPP_TLS_KEY_FILE": str(files.key_file)}
    assert not settings(monkeypatch).renews_passwords()
    assert not settings(monkeypatch, OCPP_SECURITY_PROFILE="1",
                        OCPP_AUTH_SECRET=SECRET).renews_passwords()
    assert not settings(monkeypatch, OCPP_SECURITY_PROFILE="2", OCPP_AUTH_SECRET=SECRET,
                        OCPP_RENEW_PASSWORDS="false", **tls).renews_passwords()


def test_the_password_command_prints_what_the_gateway_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = settings(monkeypatch, OCPP_SECURITY_PROFILE="1", OCPP_AUTH_SECRET=SECRET)
    main(["password", "SN-1", "SN 2"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["SN-1", "SN 2"]
    passwords = gateway.passwords()
    assert passwords is not None
    for line in lines:
        serial, word = line.split("\t")
        assert passwords.login(serial, basic(serial, word)) is Login.ACCEPTED


def test_the_password_command_needs_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit, match="OCPP_AUTH_SECRET"):
        main(["password", "SN-1"])
    with pytest.raises(SystemExit, match="usage"):
        main(["passwords"])


def test_tls_files_that_are_not_a_certificate_and_key_stop_the_start(tmp_path: Path) -> None:
    files = make_server_certificate(tmp_path)
    context = server_context(str(files.cert_file), str(files.key_file))
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(SettingError, match="OCPP_TLS_CERT_FILE"):
        server_context(str(garbage), str(files.key_file))
    with pytest.raises(SettingError, match="OCPP_TLS_CERT_FILE"):
        server_context(str(files.cert_file), str(files.ca_file))  # a certificate, not its key
