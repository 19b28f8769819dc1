"""Charge keys and OCPP authorize over the query API, against the real store, projection and
PostgreSQL: the keys list (paged, 404, min_position), and every authorize status of SPEC,
each answer validated against the `ocpp` package's JSON schemas."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from tests.integration.access.time_bound import AUTH, ReadSide, Writes, iso, read_side
from tests.ocpp_schemas import validate_id_tag_info, validate_id_token_info

pytestmark = pytest.mark.integration


@pytest.fixture
async def both(new_database: Any) -> AsyncIterator[tuple[Writes, ReadSide]]:
    url: str = new_database()
    writes = Writes(url)
    async with (asyncpg.create_pool(url, min_size=1, max_size=4) as pool,
                read_side(pool, "read") as read):
        yield writes, read
    writes.store.close()


def add_key(w: Writes, user: UUID, token: str, actor: UUID | None = None,
            **data: Any) -> UUID:
    key_id = uuid4()
    w.ok("AddChargeKey", actor or user, key_id=key_id, user_id=user, id_token=token, **data)
    return key_id


async def authorize(read: ReadSide, charger: UUID, token: str, key_type: str = "ISO14443",
                    *, same_key: bool = True, **params: Any
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both versions' answers, each checked against its OCPP schema; `same_key`: both
    matched the same key (1.6 matches a token of any type, 2.0.1 only of `key_type`)."""
    v16 = await read.get("/v1/ocpp/1.6/authorize", charger_id=str(charger), id_tag=token,
                         **params)
    v201 = await read.get("/v1/ocpp/2.0.1/authorize", charger_id=str(charger),
                          id_token=token, type=key_type, **params)
    validate_id_tag_info(v16["idTagInfo"])
    validate_id_token_info(v201["idTokenInfo"])
    assert set(v16) == {"idTagInfo", "user_id", "key_id", "why", "position"}
    assert set(v201) == {"idTokenInfo", "user_id", "key_id", "why", "position"}
    if same_key:
        assert (v16["user_id"], v16["key_id"], v16["why"]) == (
            v201["user_id"], v201["key_id"], v201["why"])
    return v16, v201


async def test_a_users_keys_are_listed_paged_with_their_status(both):
    w, read = both
    kari = w.user()
    card = add_key(w, kari, "04a2b3c4", label="Blue card")
    code = add_key(w, kari, "1234", type="KeyCode")
    car = add_key(w, kari, "AA:BB:CC:DD:EE:FF", type="MacAddress")
    keys = sorted([card, code, car])
    w.ok("BlockChargeKey", kari, key_id=code)
    await read.sync()
    body = await read.get(f"/v1/users/{kari}/charge-keys")
    assert [k["key_id"] for k in body["keys"]] == [str(k) for k in keys]
    assert body["next_cursor"] is None
    assert body["position"] >= w.head()
    by_id = {k["key_id"]: k for k in body["keys"]}
    assert {k["status"] for k in body["keys"]} == {"active", "blocked"}
    assert by_id[str(code)]["status"] == "blocked"
    assert by_id[str(card)] == {"key_id": str(card), "id_token": "04A2B3C4",
                                "type": "ISO14443", "label": "Blue card", "status": "active"}
    assert by_id[str(car)]["id_token"] == "AA:BB:CC:DD:EE:FF"

    first = await read.get(f"/v1/users/{kari}/charge-keys", limit=2)
    assert [k["key_id"] for k in first["keys"]] == [str(k) for k in keys[:2]]
    rest = await read.get(f"/v1/users/{kari}/charge-keys", limit=2, cursor=first["next_cursor"])
    assert [k["key_id"] for k in rest["keys"]] == [str(keys[2])]
    assert rest["next_cursor"] is None

    w.ok("RemoveChargeKey", kari, key_id=card)
    await read.sync()
    body = await read.get(f"/v1/users/{kari}/charge-keys")
    assert [k["key_id"] for k in body["keys"]] == [str(k) for k in keys if k != card]


async def test_an_unknown_user_is_404_and_a_user_without_keys_an_empty_list(both):
    w, read = both
    kari = w.user()
    await read.sync()
    assert (await read.get(f"/v1/users/{kari}/charge-keys"))["keys"] == []
    response = await read.client.get(f"/v1/users/{uuid4()}/charge-keys", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_min_position_waits_for_the_key_just_added(both):
    w, read = both
    kari = w.user()
    charger = w.charger(kari)
    add_key(w, kari, "FRESH1")
    read.runner.start()
    body = await read.get(f"/v1/users/{kari}/charge-keys", min_position=w.head())
    assert [k["id_token"] for k in body["keys"]] == ["FRESH1"]
    w.ok("BlockChargeKey", kari, key_id=UUID(body["keys"][0]["key_id"]))
    v16, _ = await authorize(read, charger, "fresh1", min_position=w.head())
    assert v16["idTagInfo"] == {"status": "Blocked"}


async def test_accepted_for_owner_member_and_share_blocked_and_unknown(both):
    w, read = both
    owner, driver, guest, stranger = w.user(), w.user(), w.user(), w.user()
    group = w.group(owner, members=[driver])
    charger = w.charger(owner, group=group)
    w.share(owner, guest, [charger])
    owner_key = add_key(w, owner, "OWNER1")
    add_key(w, driver, "driver1", actor=owner)
    add_key(w, guest, "GUEST1", type="KeyCode")
    add_key(w, stranger, "STRANGER1")
    blocked = add_key(w, guest, "GUEST2")
    w.ok("BlockChargeKey", guest, key_id=blocked)
    await read.sync()

    v16, v201 = await authorize(read, charger, "owner1")
    assert (v16["idTagInfo"], v201["idTokenInfo"]) == ({"status": "Accepted"},
                                                       {"status": "Accepted"})
    assert (v16["user_id"], v16["key_id"]) == (str(owner), str(owner_key))
    assert v16["why"][0]["source"] == "owner"
    assert v16["position"] >= w.head()

    v16, _ = await authorize(read, charger, "DRIVER1")
    assert v16["idTagInfo"] == {"status": "Accepted"}
    assert v16["why"][0]["source"] == "group:member"

    # 1.6 has no type: the KeyCode key matches; 2.0.1 asks for that type.
    v16, v201 = await authorize(read, charger, "GUEST1", key_type="KeyCode")
    assert (v16["idTagInfo"], v201["idTokenInfo"]) == ({"status": "Accepted"},
                                                       {"status": "Accepted"})
    assert v16["why"][0]["source"] == "share"
    v16, other_type = await authorize(read, charger, "GUEST1", key_type="ISO14443",
                                      same_key=False)
    assert v16["idTagInfo"] == {"status": "Accepted"}
    assert other_type["idTokenInfo"] == {"status": "Unknown"}
    assert other_type["user_id"] is None

    v16, v201 = await authorize(read, charger, "GUEST2")
    assert (v16["idTagInfo"], v201["idTokenInfo"]) == ({"status": "Blocked"},
                                                       {"status": "Blocked"})

    v16, v201 = await authorize(read, charger, "STRANGER1")
    assert (v16["idTagInfo"], v201["idTokenInfo"]) == ({"status": "Invalid"},
                                                       {"status": "Invalid"})
    assert v16["user_id"] == str(stranger)

    v16, v201 = await authorize(read, charger, "NOBODY")
    assert (v16["idTagInfo"], v201["idTokenInfo"]) == ({"status": "Invalid"},
                                                       {"status": "Unknown"})
    assert (v16["user_id"], v16["key_id"], v16["why"]) == (None, None, [])


async def test_a_removed_key_is_unknown_and_an_unblocked_one_accepted(both):
    w, read = both
    owner = w.user()
    charger = w.charger(owner)
    key = add_key(w, owner, "CARD1")
    w.ok("BlockChargeKey", owner, key_id=key)
    w.ok("UnblockChargeKey", owner, key_id=key)
    await read.sync()
    assert (await authorize(read, charger, "CARD1"))[0]["idTagInfo"] == {"status": "Accepted"}
    w.ok("RemoveChargeKey", owner, key_id=key)
    await read.sync()
    assert (await authorize(read, charger, "CARD1"))[1]["idTokenInfo"] == {"status": "Unknown"}


async def test_time_bound_shares_accepted_with_expiry_not_at_this_time_and_expired(both):
    w, read = both
    owner, current, later, ended = w.user(), w.user(), w.user(), w.user()
    charger = w.charger(owner)
    real_now = datetime.now(UTC).replace(microsecond=0)
    until = real_now + timedelta(days=1)
    w.share_in(owner, current, [charger], valid_until=until)
    w.share_in(owner, later, [charger], valid_from=real_now + timedelta(days=1))
    # The write side's clock in the past, so a share can end before the real now.
    w.now = real_now - timedelta(days=2)
    w.share_in(owner, ended, [charger], valid_from=w.now,
               valid_until=real_now - timedelta(hours=1))
    w.now = real_now
    for user, token in ((current, "CURRENT1"), (later, "LATER1"), (ended, "ENDED1")):
        add_key(w, user, token)
    await read.sync()

    v16, v201 = await authorize(read, charger, "CURRENT1")
    assert v16["idTagInfo"] == {"status": "Accepted", "expiryDate": iso(until)}
    assert v201["idTokenInfo"] == {"status": "Accepted", "cacheExpiryDateTime": iso(until)}
    assert v16["why"][0]["valid_until"] == until.isoformat()

    v16, v201 = await authorize(read, charger, "LATER1")
    assert (v16["idTagInfo"], v201["idTokenInfo"]) == ({"status": "Invalid"},
                                                       {"status": "NotAtThisTime"})
    assert v16["why"][0]["source"] == "share"

    v16, v201 = await authorize(read, charger, "ENDED1")
    assert (v16["idTagInfo"], v201["idTokenInfo"]) == ({"status": "Expired"},
                                                       {"status": "Expired"})


async def test_a_scheduled_share_expires_at_the_end_of_todays_window(both):
    w, read = both
    owner, guest = w.user(), w.user()
    charger = w.charger(owner)
    today = datetime.now(UTC)
    day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][today.weekday()]
    every_day = {"time_zone": "UTC", "windows": [
        {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "00:00",
         "until": "24:00"}]}
    w.share_in(owner, guest, [charger], schedule=every_day)
    add_key(w, guest, "DAILY1")
    await read.sync()
    v16, _ = await authorize(read, charger, "DAILY1")
    # Back-to-back windows are one period: it never ends, so no expiry.
    assert v16["idTagInfo"] == {"status": "Accepted"}, day

    other, guest2 = w.user(), w.user()
    charger2 = w.charger(other)
    today_only = {"time_zone": "UTC", "windows": [{"days": [day], "from": "00:00",
                                                   "until": "24:00"}]}
    w.share_in(other, guest2, [charger2], schedule=today_only)
    add_key(w, guest2, "TODAY1")
    await read.sync()
    v16, v201 = await authorize(read, charger2, "TODAY1")
    midnight = (today + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    if datetime.now(UTC) < midnight:  # not across midnight while the test ran
        assert v16["idTagInfo"] == {"status": "Accepted", "expiryDate": iso(midnight)}
        assert v201["idTokenInfo"]["cacheExpiryDateTime"] == iso(midnight)


async def test_unknown_charger_is_404_and_bad_parameters_422(both):
    w, read = both
    w.user()
    await read.sync()
    response = await read.client.get("/v1/ocpp/1.6/authorize", headers=AUTH,
                                     params={"charger_id": str(uuid4()), "id_tag": "X"})
    assert (response.status_code, response.json()["error"]) == (404, "not_found")
    for path, params in [
        ("/v1/ocpp/1.6/authorize", {"charger_id": str(uuid4()), "id_tag": "A" * 21}),
        ("/v1/ocpp/1.6/authorize", {"charger_id": "nope", "id_tag": "A"}),
        ("/v1/ocpp/2.0.1/authorize", {"charger_id": str(uuid4()), "id_token": "A"}),
        ("/v1/ocpp/2.0.1/authorize", {"charger_id": str(uuid4()), "id_token": "A",
                                      "type": "RFID"}),
    ]:
        response = await read.client.get(path, headers=AUTH, params=params)
        assert response.status_code == 422, (path, params, response.text)
    response = await read.client.get("/v1/ocpp/1.6/authorize",
                                     params={"charger_id": str(uuid4()), "id_tag": "X"})
    assert response.status_code == 401
