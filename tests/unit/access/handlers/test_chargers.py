"""RegisterCharger: in a group the actor administers (default: personal), unique serial."""

from __future__ import annotations

from uuid import uuid4

from tests.unit.access.scenario import Scenario


def test_register_charger_defaults_to_the_actors_personal_group(s: Scenario) -> None:
    owner = s.user()
    charger_id = uuid4()
    result = s.run("RegisterCharger", owner, charger_id=charger_id, serial_number="WB-A1",
                   name="Garage")
    assert result.status == "accepted"
    assert s.types() == ["ChargerRegistered"]
    assert s.events[0].subject == str(charger_id)
    assert s.events[0].data == {"charger_id": str(charger_id), "serial_number": "WB-A1",
                                "name": "Garage", "group_id": str(owner),
                                "owner_id": str(owner), "connected": True}
    assert result.position == s.events[0].sequence


def test_group_admin_registers_a_charger_in_the_group_and_owns_it(s: Scenario) -> None:
    owner, admin = s.user(), s.user()
    group_id = s.group(owner, admins=[admin])
    charger_id = uuid4()
    s.ok("RegisterCharger", admin, charger_id=charger_id, serial_number="WB-A2",
         group_id=group_id)
    data = s.of_type("ChargerRegistered")[0]
    assert data["group_id"] == str(group_id)
    assert data["owner_id"] == str(admin)


def test_group_member_may_not_register_a_charger_in_the_group(s: Scenario) -> None:
    owner, member = s.user(), s.user()
    group_id = s.group(owner, members=[member])
    result = s.run("RegisterCharger", member, charger_id=uuid4(), serial_number="WB-A3",
                   group_id=group_id)
    assert (result.status, result.reason) == ("rejected", "forbidden")
    assert s.events == []


def test_outsider_may_not_register_a_charger_in_someone_elses_personal_group(
    s: Scenario,
) -> None:
    owner, outsider = s.user(), s.user()
    result = s.run("RegisterCharger", outsider, charger_id=uuid4(), serial_number="WB-A4",
                   group_id=owner)
    assert result.reason == "forbidden"


def test_register_charger_with_a_taken_serial_is_serial_taken(s: Scenario) -> None:
    first, second = s.user(), s.user()
    s.ok("RegisterCharger", first, charger_id=uuid4(), serial_number="WB-DUP")
    result = s.run("RegisterCharger", second, charger_id=uuid4(), serial_number="WB-DUP")
    assert (result.status, result.reason) == ("rejected", "serial_taken")
    assert s.events == []


def test_serial_numbers_are_compared_case_insensitively(s: Scenario) -> None:
    owner = s.user()
    s.ok("RegisterCharger", owner, charger_id=uuid4(), serial_number="wb-case")
    result = s.run("RegisterCharger", owner, charger_id=uuid4(), serial_number="WB-CASE")
    assert result.reason == "serial_taken"


def test_register_charger_with_an_existing_id_is_already_exists(s: Scenario) -> None:
    owner = s.user()
    charger_id = s.charger(owner)
    result = s.run("RegisterCharger", owner, charger_id=charger_id, serial_number="WB-NEW")
    assert (result.status, result.reason) == ("rejected", "already_exists")


def test_rejected_charger_does_not_claim_its_serial(s: Scenario) -> None:
    owner, member = s.user(), s.user()
    group_id = s.group(owner, members=[member])
    s.run("RegisterCharger", member, charger_id=uuid4(), serial_number="WB-FREE",
          group_id=group_id)
    assert s.run("RegisterCharger", owner, charger_id=uuid4(),
                 serial_number="WB-FREE").status == "accepted"


def test_register_charger_in_an_unknown_group_is_not_found(s: Scenario) -> None:
    owner = s.user()
    result = s.run("RegisterCharger", owner, charger_id=uuid4(), serial_number="WB-A5",
                   group_id=uuid4())
    assert (result.status, result.reason) == ("rejected", "not_found")


def test_register_charger_by_an_unregistered_actor_is_not_found(s: Scenario) -> None:
    result = s.run("RegisterCharger", uuid4(), charger_id=uuid4(), serial_number="WB-A6")
    assert result.reason == "not_found"
