"""Local lists over the query API against the real store, projection and PostgreSQL: Full
and Differential `SendLocalList` for OCPP 1.6 and 2.0.1, every payload validated against
the `ocpp` package's JSON schemas, and every Differential since an earlier version,
applied as a charger applies it to that version's Full list, giving the current one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from tests.integration.access.time_bound import AUTH, ReadSide, Writes, iso, read_side
from tests.ocpp_schemas import validate

pytestmark = pytest.mark.integration

PATHS = {"1.6": "/v1/chargers/{}/local-list/1.6", "2.0.1": "/v1/chargers/{}/local-list/2.0.1"}
MESSAGES = {"1.6": "SendLocalList", "2.0.1": "SendLocalListRequest"}


@pytest.fixture
async def both(new_database: Any) -> AsyncIterator[tuple[Writes, ReadSide]]:
    url: str = new_database()
    writes = Writes(url)
    async with (asyncpg.create_pool(url, min_size=1, max_size=4) as pool,
                read_side(pool, "read") as read):
        yield writes, read
    writes.store.close()


def add_key(w: Writes, user: UUID, token: str, type_: str = "ISO14443") -> UUID:
    key_id = uuid4()
    w.ok("AddChargeKey", user, key_id=key_id, user_id=user, id_token=token, type=type_)
    return key_id


async def local_list(read: ReadSide, version: str, charger: UUID,
                     **params: Any) -> dict[str, Any]:
    body = await read.get(PATHS[version].format(charger), **params)
    assert set(body) == {"charger_id", "version", "position", "request"}
    assert body["charger_id"] == str(charger)
    validate(version, MESSAGES[version], body["request"])
    return body


def entries(version: str, request: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    """A request's entries as a charger reads them: key -> info (None: remove)."""
    if version == "1.6":
        return {(e["idTag"],): e.get("idTagInfo") for e in request["localAuthorizationList"]}
    return {(e["idToken"]["idToken"], e["idToken"]["type"]): e.get("idTokenInfo")
            for e in request.get("localAuthorizationList", [])}


def applied(version: str, held: dict[tuple[str, ...], Any],
            request: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    """What a charger holding `held` holds after `request`."""
    assert request["updateType"] == "Differential"
    result = dict(held)
    for key, info in entries(version, request).items():
        if info is None:
            result.pop(key, None)
        else:
            result[key] = info
    return result


async def fulls(read: ReadSide, charger: UUID) -> dict[str, tuple[int, dict[Any, Any]]]:
    result = {}
    for version in PATHS:
        body = await local_list(read, version, charger)
        assert body["request"]["updateType"] == "Full"
        result[version] = body["version"], entries(version, body["request"])
    return result


async def test_differentials_since_every_version_give_the_current_full_list(both):
    w, read = both
    owner, guest, member = w.user(), w.user(), w.user()
    add_key(w, owner, "own1")
    charger = w.charger(owner)
    await read.sync()
    history = [await fulls(read, charger)]  # one per version, in order

    async def step() -> None:
        await read.sync()
        current = await fulls(read, charger)
        assert current["1.6"][0] == current["2.0.1"][0]
        if current["1.6"][0] != history[-1]["1.6"][0]:
            history.append(current)

    guest_card = add_key(w, guest, "guest1")
    add_key(w, guest, "GUEST1", "KeyCode")  # the same token, another type
    await step()
    w.share(owner, guest, [charger])
    await step()
    w.ok("BlockChargeKey", guest, key_id=guest_card)
    await step()
    group = w.group(owner, members=[member])
    add_key(w, member, "member1")
    w.ok("MoveChargerToGroup", owner, charger_id=charger, group_id=group)
    await step()
    w.ok("RemoveChargeKey", guest, key_id=guest_card)  # 1.6: the KeyCode key now answers
    await step()
    end = w.now + timedelta(hours=5)
    other = w.user()
    add_key(w, other, "other1")
    w.share_in(owner, other, [charger], valid_until=end)
    await step()
    w.ok("RemoveGroupMember", owner, group_id=group, user_id=member)
    await step()

    versions = [h["1.6"][0] for h in history]
    assert versions == list(range(1, len(history) + 1))
    assert len(history) >= 7
    latest = history[-1]
    assert latest["2.0.1"][1][("OTHER1", "ISO14443")] == {
        "status": "Accepted", "cacheExpiryDateTime": iso(end)}
    assert latest["1.6"][1][("OTHER1",)] == {"status": "Accepted", "expiryDate": iso(end)}
    assert latest["1.6"][1][("GUEST1",)] == {"status": "Accepted"}, "KeyCode key, unblocked"
    assert ("MEMBER1",) not in latest["1.6"][1]

    for n, held in enumerate(history, start=1):
        for version in PATHS:
            body = await local_list(read, version, charger, since_version=n)
            assert body["version"] == versions[-1]
            if n == versions[-1]:
                assert entries(version, body["request"]) == {}
            assert applied(version, held[version][1], body["request"]) == latest[version][1], (
                version, n)


async def test_unanswerable_versions_get_the_full_list_and_unknown_chargers_404(both):
    w, read = both
    owner = w.user()
    add_key(w, owner, "own1")
    charger = w.charger(owner)
    await read.sync()
    for version, path in PATHS.items():
        for since in (0, -3, 2, 99):
            body = await local_list(read, version, charger, since_version=since)
            assert body["version"] == 1
            assert body["request"]["updateType"] == "Full"
            assert len(entries(version, body["request"])) == 1
        position = body["position"]
        body = await local_list(read, version, charger, min_position=position)
        assert body["position"] >= position
        response = await read.client.get(path.format(uuid4()), headers=AUTH)
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "not_found"


async def test_an_empty_list_is_valid_in_both_versions(both):
    w, read = both
    owner = w.user()
    charger = w.charger(owner)
    await read.sync()
    for version in PATHS:
        body = await local_list(read, version, charger)
        assert body["version"] == 1
        assert entries(version, body["request"]) == {}
        body = await local_list(read, version, charger, since_version=1)
        assert body["request"]["updateType"] == "Differential"
