"""Chargers, groups, invitations and history through the query API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.access.api.query_api import world

pytestmark = pytest.mark.integration


# --- chargers, groups, invitations, history ----------------------------------------------


async def test_charger_shows_group_owner_and_connection(api):
    w = await world(api)
    body = (await api.get(f"/v1/chargers/{w.charger}")).json()
    assert body["group_id"] == str(w.fleet)
    assert body["owner_id"] == str(w.owner)
    assert body["connected"] is True
    assert body["position"] == api.log.position


async def test_group_shows_members_roles_and_chargers(api):
    w = await world(api)
    api.log.member(w.fleet, w.guest, "admin")
    await api.sync()
    body = (await api.get(f"/v1/groups/{w.fleet}")).json()
    roles = {m["user_id"]: m["role"] for m in body["members"]}
    assert roles == {str(w.owner): "owner", str(w.guest): "admin"}
    assert (body["charger_count"], body["personal"]) == (1, False)

    page = (await api.get(f"/v1/groups/{w.fleet}", limit=1)).json()
    assert len(page["members"]) == 1
    rest = (await api.get(f"/v1/groups/{w.fleet}", limit=1, cursor=page["next_cursor"])).json()
    assert {page["members"][0]["user_id"], rest["members"][0]["user_id"]} == set(roles)
    assert rest["next_cursor"] is None

    chargers = (await api.get(f"/v1/groups/{w.fleet}/chargers")).json()
    assert [c["charger_id"] for c in chargers["chargers"]] == [str(w.charger)]


async def test_invitation_shows_status_and_never_a_token(api):
    w = await world(api)
    response = await api.get(f"/v1/invitations/{w.invitation}")
    body = response.json()
    assert body["status"] == "pending"
    assert body["level"] == "charge"
    assert [c["charger_id"] for c in body["chargers"]] == [str(w.charger)]
    assert "token" not in response.text
    assert "salt" not in response.text


async def test_pending_invitation_past_its_expiry_reads_as_expired(api):
    owner = api.log.user()
    charger = api.log.charger(owner)
    old = api.log.invite(owner, [charger], expires_at=datetime.now(UTC) - timedelta(minutes=1))
    await api.sync()
    assert (await api.get(f"/v1/invitations/{old}")).json()["status"] == "expired"


async def test_history_lists_a_chargers_events_in_order(api):
    w = await world(api)
    api.log.revoke(w.charger, w.guest)
    await api.sync()
    body = (await api.get(f"/v1/chargers/{w.charger}/history", limit=2)).json()
    assert [e["type"] for e in body["events"]] == ["ChargerRegistered", "UserInvited"]
    rest = (await api.get(f"/v1/chargers/{w.charger}/history", cursor=body["next_cursor"])).json()
    assert [e["type"] for e in rest["events"]] == ["AccessGranted", "AccessRevoked"]
    assert rest["events"][1]["details"]["user_id"] == str(w.guest)
