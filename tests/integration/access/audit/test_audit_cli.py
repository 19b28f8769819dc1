"""Every `access-audit` subcommand against the scripted history in PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.access.audit.cli import app
from services.access.store.chain import GENESIS, link
from tests.integration.access.audit.history import History

pytestmark = pytest.mark.integration

runner = CliRunner()


def audit(history: History, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"DATABASE_URL": history.url})
    return result.exit_code, result.stdout


def timeline(history: History, *args: str) -> list[dict]:
    code, out = audit(history, "timeline", *args, "--json")
    assert code == 0, out
    return json.loads(out)["events"]


# --- timeline ----------------------------------------------------------------------------


def test_charger_timeline_has_its_events_and_the_invitations_and_transfers_naming_it(history):
    events = timeline(history, "--charger", str(history.garasje))
    sentences = [e["sentence"] for e in events]
    assert sentences[0] == "Kari registered charger Garasje (WB-" + sentences[0].split("(WB-")[1]
    assert "Kari invited ola@example.no to Garasje, Carport (charge)" in sentences
    assert "Kari set Ola's access to Garasje (manage)" in sentences
    assert "Kari moved Garasje from Kari to Fleet" in sentences
    assert sentences[-2:] == ["Kari gave Garasje to Eva (connection off)",
                              "The invitation to Eva@Example.no ended: Kari gave the charger away"]


def test_timeline_entries_carry_position_time_actor_and_command_in_store_order(history):
    events = timeline(history, "--charger", str(history.garasje))
    positions = [e["position"] for e in events]
    assert positions == sorted(positions)
    invited = next(e for e in events if e["type"] == "UserInvited")
    assert invited["actor"] == str(history.kari)
    assert invited["actor_name"] == "Kari"
    assert invited["time"] == "2025-03-02T12:00:00+00:00"
    assert len(invited["command_id"]) == 36


def test_charger_timeline_leaves_out_what_only_concerns_other_chargers(history):
    events = timeline(history, "--charger", str(history.garasje))
    assert not any(e["type"] == "ChargerOwnershipTransferred" for e in events)  # Carport's


def test_user_timeline_includes_an_invitation_sent_before_they_registered(history):
    sentences = [e["sentence"] for e in timeline(history, "--user", str(history.eva))]
    assert sentences[0] == "Kari invited Eva@Example.no to Garasje (charge)"
    assert "Eva registered with eva@example.no" in sentences
    assert "Kari gave Garasje to Eva (connection off)" in sentences


def test_user_timeline_shows_what_was_done_to_them_and_by_them(history):
    events = timeline(history, "--user", str(history.ola))
    types = [e["type"] for e in events]
    assert types[:2] == ["UserRegistered", "GroupCreated"]
    assert "InvitationAccepted" in types
    assert types[-2:] == ["UserAccessRemoved", "AccessRevoked"]


def test_group_timeline(history):
    sentences = [e["sentence"] for e in timeline(history, "--group", str(history.fleet))]
    assert sentences[:2] == ["Kari created group Fleet", "Kari made Per admin of Fleet"]
    assert "Kari moved Garasje from Kari to Fleet" in sentences


def test_invitation_timeline_follows_it_to_the_shares_it_granted(history):
    events = timeline(history, "--invitation", str(history.invitation))
    assert [e["type"] for e in events] == ["UserInvited", "InvitationAccepted",
                                           "AccessGranted", "AccessGranted"]


def test_timeline_table_for_people(history):
    code, out = audit(history, "timeline", "--invitation", str(history.eva_invitation))
    assert code == 0
    assert "Timeline of invitation" in out
    assert "gave the charger away" in out


def test_timeline_needs_exactly_one_subject(history):
    code, _ = audit(history, "timeline", "--charger", str(history.garasje),
                    "--user", str(history.ola))
    assert code == 2


# --- access-at ---------------------------------------------------------------------------


def test_access_at_json_matches_the_live_snapshot_of_that_day(history):
    shot = next(s for s in history.snapshots if s.step == "edited")
    code, out = audit(history, "access-at", "--charger", str(history.garasje),
                      "--at", shot.at.isoformat(), "--json")
    assert code == 0
    answer = json.loads(out)
    assert answer["exists"] is True
    assert answer["users"] == shot.users_of[str(history.garasje)]


def test_access_at_for_a_user_without_an_offset_reads_utc(history):
    shot = next(s for s in history.snapshots if s.step == "moved")
    code, out = audit(history, "access-at", "--user", str(history.ola),
                      "--at", shot.at.replace(tzinfo=None).isoformat(), "--json")
    assert code == 0
    assert json.loads(out)["chargers"] == shot.chargers_of[str(history.ola)]


def test_access_at_before_the_charger_existed(history):
    code, out = audit(history, "access-at", "--charger", str(history.garasje),
                      "--at", "2025-02-01T00:00:00Z")
    assert code == 0
    assert "did not exist" in out


def test_access_at_table_names_the_why(history):
    code, out = audit(history, "access-at", "--charger", str(history.garasje),
                      "--at", "2025-03-03T15:00:00+00:00")
    assert code == 0
    assert "share (charge, invitation_id" in out.replace("\n", " ")


# --- export ------------------------------------------------------------------------------


def export_lines(history: History, *args: str) -> list[dict]:
    code, out = audit(history, "export", *args)
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


def test_export_streams_every_stored_event_with_its_link_and_envelope(history):
    lines = export_lines(history)
    assert [line["position"] for line in lines] == list(range(1, len(lines) + 1))
    published = [line for line in lines if line["published"]]
    internal = [line for line in lines if not line["published"]]
    assert published
    assert internal
    assert all(line["event"]["sequence"] == line["position"] for line in published)
    assert all(line["event"] is None for line in internal)
    assert {"UserInvited", "ChargerTransferredToUser"} <= {line["event"]["type"] for line in published}


def test_an_export_verifies_offline_with_nothing_but_sha256(history):
    previous = GENESIS
    for line in export_lines(history):
        assert line["previous_hash"] == previous.hex()
        previous = link(previous, line["position"], line["originator_id"],
                        line["originator_version"], line["topic"],
                        base64.b64decode(line["state"]))
        assert previous.hex() == line["hash"], line["position"]


def test_export_of_a_range_to_a_file(history, tmp_path: Path):
    target = tmp_path / "slice.jsonl"
    code, _ = audit(history, "export", "--from", "10", "--to", "19", "--out", str(target))
    assert code == 0
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [line["position"] for line in lines] == list(range(10, 20))
    whole = export_lines(history)
    assert lines[0]["previous_hash"] == whole[8]["hash"]


# --- verify ------------------------------------------------------------------------------


def test_verify_reports_ok_with_the_count_and_last_hash(history):
    code, out = audit(history, "verify", "--json")
    assert code == 0
    verdict = json.loads(out)
    whole = export_lines(history)
    assert verdict["ok"] is True
    assert verdict["count"] == len(whole)
    assert verdict["last_hash"] == whole[-1]["hash"]


def test_the_installed_console_script_verifies_the_store(history):
    script = Path(sys.executable).parent / "access-audit"
    command = str(script) if script.exists() else shutil.which("access-audit")
    assert command, "access-audit is not installed: make install"
    done = subprocess.run([command, "verify"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DATABASE_URL": history.url}, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: ")


# --- rebuild --check ---------------------------------------------------------------------


def test_rebuild_check_finds_the_live_read_models_equal(history):
    code, out = audit(history, "rebuild", "--check", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["ok"] is True
    assert {t["table"] for t in report["tables"]} >= {"access", "shares", "chargers"}


def test_rebuild_check_prints_what_access_rebuild_prints(history):
    """One command under two names: the auditors' `rebuild` is `access-rebuild`."""
    code, out = audit(history, "rebuild", "--check")
    assert code == 0, out
    assert out.startswith("Rebuilt vs live read models at position ")
    assert "  access " in out
    assert out.rstrip().endswith("OK: the rebuilt read models equal the live ones.")
