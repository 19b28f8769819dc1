"""Folding a batch into net row changes: the last write per row wins, nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from charger_access_client import access_events as ev
from services.access.eventlog.values import LoggedEvent
from services.access.projection.changes import ShareRow, fold_logged, share_reason
from tests.unit.access.event_builders import ScriptedLog, person, ref


def folded(log: ScriptedLog):
    return fold_logged(log.take())


def test_grant_then_revoke_nets_to_a_delete():
    log = ScriptedLog()
    owner, guest = log.user(), log.user()
    charger = log.charger(owner)
    log.grant(charger, guest, "manage")
    log.revoke(charger, guest)
    changes = folded(log)
    assert changes.shares == {(charger, guest): None}
    assert (charger, guest) in changes.touched_pairs


def test_revoke_then_grant_nets_to_the_grant():
    log = ScriptedLog()
    owner, guest = log.user(), log.user()
    charger = log.charger(owner)
    log.revoke(charger, guest)
    log.grant(charger, guest, "charge")
    changes = folded(log)
    assert changes.shares[(charger, guest)] == ShareRow(
        "charge", {"source": "share", "command_id": "cmd-1"}
    )


def test_group_creation_implies_the_owner_membership():
    log = ScriptedLog()
    owner = log.user()
    changes = folded(log)
    assert changes.members == {(owner, owner): "owner"}
    assert changes.groups[owner].personal is True
    assert (owner, owner) in changes.touched_memberships


def test_charger_changes_merge_into_one_patch():
    log = ScriptedLog()
    owner, other = log.user(), log.user()
    charger = log.charger(owner)
    log.add(
        ev.ChargerMovedToGroup(charger_id=charger, from_group_id=owner, to_group_id=other), charger
    )
    log.add(
        ev.ChargerOwnershipTransferred(
            charger_id=charger, charger=ref(charger), from_owner_id=owner, to_owner=person(other)
        ),
        charger,
    )
    patch = folded(log).chargers[charger]
    assert (patch.created, patch.group_id, patch.owner_id) == (True, other, other)


def test_share_reason_names_invitation_or_update():
    assert share_reason({"kind": "invitation", "invitation_id": "i-1"}) == {
        "source": "share",
        "invitation_id": "i-1",
    }
    assert share_reason({"kind": "update", "command_id": "c-1"}) == {
        "source": "share",
        "command_id": "c-1",
    }


def test_unknown_event_types_are_skipped_not_fatal():
    log = ScriptedLog()
    logged = log.add(ev.UserRegistered(user_id=log.user(), email="x@example.com"), log.user())
    renamed = logged.envelope.model_copy(update={"type": "SomethingNew"})
    changes = fold_logged([LoggedEvent(logged.position, renamed)])
    assert changes.skipped_types == {"SomethingNew"}
    assert not changes.users


def test_invitation_never_keeps_the_token_salt():
    log = ScriptedLog()
    owner = log.user()
    charger = log.charger(owner)
    invitation = log.invite(owner, [charger])
    patch = folded(log).invitations[invitation]
    assert "salt" not in repr(patch)


def test_the_fold_imports_nothing_that_does_io():
    """A fresh interpreter that imports the fold has no database driver, event store
    library or broker client loaded: the fold is pure, and stays so."""
    io_packages = {"asyncpg", "psycopg", "psycopg_pool", "eventsourcing", "faststream",
                   "aiokafka", "uvicorn", "aiosmtpd"}
    code = ("import sys, services.access.projection.changes, services.access.projection.rows; "
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True, cwd=Path(__file__).parents[4])
    loaded = set(done.stdout.split())
    assert "services" in loaded  # the import did run
    assert loaded & io_packages == set()
