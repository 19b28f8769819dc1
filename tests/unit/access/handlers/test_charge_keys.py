"""AddChargeKey, BlockChargeKey, UnblockChargeKey, RemoveChargeKey: who may, uniqueness of
a token per type (case-insensitive, through a claim), and what ForgetUser does to keys."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from services.access.domain.charge_key import ChargeKey
from tests.unit.access.scenario import Scenario


def add(s: Scenario, actor: UUID, user_id: UUID, id_token: str = "04a2b3c4", **data: Any) -> Any:
    key_id = data.pop("key_id", uuid4())
    result = s.run("AddChargeKey", actor, key_id=key_id, user_id=user_id, id_token=id_token,
                   **data)
    return key_id, result


def key_state(s: Scenario, key_id: UUID) -> ChargeKey:
    found = s.store.load(key_id)
    assert isinstance(found, ChargeKey)
    return found


def test_a_user_adds_their_own_key_published_in_upper_case(s: Scenario) -> None:
    kari = s.user()
    key_id, result = add(s, kari, kari, "04a2:b3c4", label="Blue card")
    assert (result.status, result.reason) == ("accepted", None)
    assert s.types() == ["ChargeKeyAdded"]
    assert s.events[0].data == {"key_id": str(key_id), "user_id": str(kari),
                                "id_token": "04A2:B3C4", "type": "ISO14443",
                                "label": "Blue card"}
    assert s.events[0].subject == str(key_id)
    assert s.user_state(kari).keys == {str(key_id)}


def test_the_type_is_kept_as_given(s: Scenario) -> None:
    kari = s.user()
    _, result = add(s, kari, kari, "ab:cd:ef:01:02:03", type="MacAddress")
    assert result.status == "accepted"
    assert s.events[0].data["type"] == "MacAddress"


def test_an_owner_or_admin_of_a_group_the_user_is_in_adds_keys(s: Scenario) -> None:
    owner, admin, driver = s.user(), s.user(), s.user()
    s.group(owner, admins=[admin], members=[driver])
    assert add(s, owner, driver, "AAA1")[1].status == "accepted"
    assert add(s, admin, driver, "AAA2")[1].status == "accepted"


def test_a_key_of_another_user_without_rights_is_forbidden(s: Scenario) -> None:
    kari, stranger = s.user(), s.user()
    _, result = add(s, stranger, kari)
    assert (result.status, result.reason) == ("rejected", "forbidden")
    assert s.events == []


def test_a_plain_member_of_the_same_group_is_forbidden(s: Scenario) -> None:
    owner, member, driver = s.user(), s.user(), s.user()
    s.group(owner, members=[member, driver])
    assert add(s, member, driver)[1].reason == "forbidden"


def test_an_admin_of_a_group_the_user_has_left_is_forbidden(s: Scenario) -> None:
    owner, driver = s.user(), s.user()
    group = s.group(owner, members=[driver])
    s.ok("RemoveGroupMember", owner, group_id=group, user_id=driver)
    assert add(s, owner, driver)[1].reason == "forbidden"
    assert str(group) not in s.user_state(driver).groups


def test_unknown_user_is_not_found(s: Scenario) -> None:
    kari = s.user()
    assert add(s, kari, uuid4())[1].reason == "not_found"


def test_an_existing_key_id_is_already_exists(s: Scenario) -> None:
    kari = s.user()
    key_id, _ = add(s, kari, kari, "AAA1")
    assert add(s, kari, kari, "BBB2", key_id=key_id)[1].reason == "already_exists"


@pytest.mark.parametrize("second", ["04A2B3C4", "04a2b3c4", "04A2b3C4"])
def test_a_token_held_by_another_key_is_key_taken_whatever_its_case(
        s: Scenario, second: str) -> None:
    kari, ola = s.user(), s.user()
    add(s, kari, kari, "04a2B3c4")
    _, result = add(s, ola, ola, second)
    assert (result.status, result.reason) == ("rejected", "key_taken")
    assert s.events == []


def test_the_same_token_under_another_type_is_another_key(s: Scenario) -> None:
    kari, ola = s.user(), s.user()
    add(s, kari, kari, "1234")
    assert add(s, ola, ola, "1234", type="KeyCode")[1].status == "accepted"


def test_a_rejected_add_claims_nothing(s: Scenario) -> None:
    kari, stranger = s.user(), s.user()
    assert add(s, stranger, kari, "FREE1")[1].reason == "forbidden"
    assert add(s, stranger, stranger, "FREE1")[1].status == "accepted"


def test_block_and_unblock(s: Scenario) -> None:
    kari = s.user()
    key_id, _ = add(s, kari, kari)
    s.ok("BlockChargeKey", kari, key_id=key_id)
    assert s.types() == ["ChargeKeyBlocked"]
    assert s.events[0].data == {"key_id": str(key_id), "user_id": str(kari)}
    assert key_state(s, key_id).blocked
    again = s.run("BlockChargeKey", kari, key_id=key_id)
    assert (again.status, s.events) == ("accepted", [])
    s.ok("UnblockChargeKey", kari, key_id=key_id)
    assert s.types() == ["ChargeKeyUnblocked"]
    assert not key_state(s, key_id).blocked
    again = s.run("UnblockChargeKey", kari, key_id=key_id)
    assert (again.status, s.events) == ("accepted", [])


@pytest.mark.parametrize("command", ["BlockChargeKey", "UnblockChargeKey", "RemoveChargeKey"])
def test_changing_a_key_needs_the_same_rights(s: Scenario, command: str) -> None:
    owner, driver, stranger = s.user(), s.user(), s.user()
    s.group(owner, members=[driver])
    key_id, _ = add(s, driver, driver)
    s.ok("BlockChargeKey", driver, key_id=key_id)  # so unblock has something to do
    assert s.run(command, stranger, key_id=key_id).reason == "forbidden"
    assert s.run(command, owner, key_id=key_id).status == "accepted"


@pytest.mark.parametrize("command", ["BlockChargeKey", "UnblockChargeKey", "RemoveChargeKey"])
def test_an_unknown_or_removed_key_is_not_found(s: Scenario, command: str) -> None:
    kari = s.user()
    assert s.run(command, kari, key_id=uuid4()).reason == "not_found"
    key_id, _ = add(s, kari, kari)
    s.ok("RemoveChargeKey", kari, key_id=key_id)
    assert s.run(command, kari, key_id=key_id).reason == "not_found"


def test_remove_then_the_token_can_be_added_again(s: Scenario) -> None:
    kari, ola = s.user(), s.user()
    key_id, _ = add(s, kari, kari, "04A2B3C4")
    s.ok("RemoveChargeKey", kari, key_id=key_id)
    assert s.types() == ["ChargeKeyRemoved"]
    assert s.events[0].data == {"key_id": str(key_id), "user_id": str(kari),
                                "reason": "removed"}
    assert s.user_state(kari).keys == set()
    _, result = add(s, ola, ola, "04a2b3c4")
    assert result.status == "accepted"
    assert add(s, kari, kari, "04A2B3C4")[1].reason == "key_taken"


def test_a_removed_key_id_is_not_reused(s: Scenario) -> None:
    kari = s.user()
    key_id, _ = add(s, kari, kari, "AAA1")
    s.ok("RemoveChargeKey", kari, key_id=key_id)
    assert add(s, kari, kari, "AAA1", key_id=key_id)[1].reason == "already_exists"


def test_forget_user_removes_every_key_and_frees_the_tokens(s: Scenario) -> None:
    kari, ola = s.user(), s.user()
    first, _ = add(s, kari, kari, "AAA1")
    second, _ = add(s, kari, kari, "BBB2", type="KeyCode")
    removed, _ = add(s, kari, kari, "CCC3")
    s.ok("RemoveChargeKey", kari, key_id=removed)
    s.ok("ForgetUser", kari, user_id=kari)
    assert sorted(s.types()) == ["ChargeKeyRemoved", "ChargeKeyRemoved", "UserForgotten"]
    gone = {e["key_id"]: e["reason"] for e in s.of_type("ChargeKeyRemoved")}
    assert gone == {str(first): "user_forgotten", str(second): "user_forgotten"}
    assert s.user_state(kari).keys == set()
    assert add(s, ola, ola, "aaa1")[1].status == "accepted"
    assert add(s, ola, ola, "bbb2", type="KeyCode")[1].status == "accepted"


def test_no_key_is_added_for_a_forgotten_user(s: Scenario) -> None:
    kari = s.user()
    s.ok("ForgetUser", kari, user_id=kari)
    assert add(s, kari, kari)[1].reason == "not_found"


def test_tokens_and_labels_are_sealed_in_the_log_and_pseudonymous_once_forgotten(
        s: Scenario) -> None:
    kari = s.user()
    add(s, kari, kari, "SECRETCARD42", label="Kari's blue card")
    raw = b"".join(n.state for n in s.store.recorder.select_notifications(1, 100000))
    assert b"SECRETCARD42" not in raw
    assert b"blue card" not in raw
    [added] = [e for e in s.published_since(0) if e.type == "ChargeKeyAdded"]
    assert added.data["id_token"] == "SECRETCARD42"
    s.ok("ForgetUser", kari, user_id=kari)
    [added] = [e for e in s.published_since(0) if e.type == "ChargeKeyAdded"]
    assert added.data["id_token"] == f"FORGOTTEN-{kari.hex[:10].upper()}"
    assert added.data["label"] is None
