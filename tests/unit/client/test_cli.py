"""`access-cli` refuses what cannot work before it reaches for a broker: exit status 2 and
one line naming the problem."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from charger_access_client import cli


def test_data_that_is_not_a_json_object_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["send", "RegisterUser", "--actor", str(uuid.uuid4()), "--data", "[1]"]
    assert cli.run(argv, {}) == cli.USAGE
    assert "JSON object" in capsys.readouterr().err


def test_data_is_read_from_a_file_given_with_an_at(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.json"
    argv = ["send", "RegisterUser", "--actor", str(uuid.uuid4()), "--data", f"@{missing}"]
    assert cli.run(argv, {}) == cli.USAGE
    assert "none.json" in capsys.readouterr().err


def test_kafka_settings_that_cannot_work_name_their_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.run(["results"], {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}) == cli.USAGE
    assert "KAFKA_SASL_USERNAME" in capsys.readouterr().err


def test_an_actor_that_is_not_a_uuid_is_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit) as refused:
        cli.run(["send", "RegisterUser", "--actor", "alice", "--data", "{}"], {})
    assert refused.value.code == 2
