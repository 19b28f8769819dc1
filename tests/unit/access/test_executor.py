"""One result per command id; batches isolate a rejected command from the next."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import OperationalError

from charger_access_client.commands import COMMAND_TYPES, TransferChargerToUser
from charger_access_client.envelope import CommandResult
from services.access.executor import Executor, Valid
from services.access.handlers.context import Rules
from tests.unit.access.scenario import SECRET, Cmd, Scenario


def test_same_command_id_across_batches_gets_the_first_result_and_no_second_effect(
    s: Scenario,
) -> None:
    owner = s.user()
    command = Cmd("RegisterCharger", owner, {"charger_id": uuid4(), "serial_number": "WB-ID1"})
    [first] = s.batch([command])
    assert s.types() == ["ChargerRegistered"]
    head = s.head()
    [again] = s.batch([command])
    assert again == first
    assert s.events == []
    assert s.head() == head


def test_replayed_command_id_returns_the_first_result_even_with_other_data(s: Scenario) -> None:
    owner = s.user()
    command_id = str(uuid4())
    first = s.run("RegisterCharger", owner, command_id=command_id, charger_id=uuid4(),
                  serial_number="WB-ID2")
    second = s.run("RegisterCharger", owner, command_id=command_id, charger_id=uuid4(),
                   serial_number="WB-ID3")
    assert second == first
    assert s.events == []


def test_a_rejection_is_replayed_even_once_the_command_would_pass(s: Scenario) -> None:
    owner, admin = s.user(), s.user()
    group_id = s.group(owner)
    command = Cmd("RegisterCharger", admin, {"charger_id": uuid4(), "serial_number": "WB-ID4",
                                             "group_id": group_id})
    [first] = s.batch([command])
    assert first.reason == "forbidden"
    s.ok("AddGroupMember", owner, group_id=group_id, user_id=admin, role="admin")
    [again] = s.batch([command])
    assert again == first
    assert s.events == []


def test_same_command_id_twice_in_one_batch_runs_once_and_answers_twice(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    invite = Cmd("InviteUser", owner, {"invitation_id": uuid4(), "email": s.emails[guest],
                                       "charger_ids": [charger]})
    first, second = s.batch([invite, invite])
    assert first.status == "accepted"
    assert second == first
    assert s.types() == ["UserInvited"]


def test_a_rejected_command_does_not_affect_the_next_in_the_batch(s: Scenario) -> None:
    taken = s.user(email="taken@example.com")
    newcomer = uuid4()
    loser = Cmd("RegisterUser", taken, {"user_id": taken, "email": "fresh@example.com",
                                        "phone": "+4790011111"})
    winner = Cmd("RegisterUser", newcomer, {"user_id": newcomer, "email": "fresh@example.com",
                                            "phone": "+4790011111"})
    rejected, accepted = s.batch([loser, winner])
    assert (rejected.status, rejected.reason) == ("rejected", "already_exists")
    assert rejected.position is None
    assert accepted.status == "accepted"
    assert [e.data["user_id"] for e in s.events if e.type == "UserRegistered"] == [
        str(newcomer)]


def test_commands_of_a_batch_see_the_effects_of_earlier_ones(s: Scenario) -> None:
    owner = uuid4()
    charger = uuid4()
    other = uuid4()
    results = s.batch([
        Cmd("RegisterUser", owner, {"user_id": owner, "email": "same@example.com"}),
        Cmd("RegisterCharger", owner, {"charger_id": charger, "serial_number": "WB-BATCH"}),
        Cmd("RegisterUser", other, {"user_id": other, "email": "SAME@example.com"}),
        Cmd("RegisterCharger", owner, {"charger_id": uuid4(), "serial_number": "WB-BATCH"}),
    ])
    assert [(r.status, r.reason) for r in results] == [
        ("accepted", None), ("accepted", None), ("rejected", "email_taken"),
        ("rejected", "serial_taken")]
    assert s.types() == ["UserRegistered", "GroupCreated", "ChargerRegistered"]
    assert results[0].position is not None
    assert results[1].position is not None
    assert results[0].position < results[1].position == s.events[-1].sequence


def test_every_command_in_a_batch_gets_exactly_one_result_in_order(s: Scenario) -> None:
    owner = s.user()
    commands = [Cmd("CreateGroup", owner, {"group_id": uuid4(), "name": f"G{i}"})
                for i in range(5)]
    results = s.batch(commands)
    assert [r.command_id for r in results] == [c.command_id for c in commands]
    assert [r.status for r in results] == ["accepted"] * 5


def test_published_events_carry_actor_command_id_and_time(s: Scenario) -> None:
    owner = s.user()
    command_id = str(uuid4())
    group_id = uuid4()
    s.run("CreateGroup", owner, command_id=command_id, group_id=group_id, name="Depot")
    [event] = s.events
    assert event.actor == str(owner)
    assert event.commandid == command_id
    assert event.time == s.now


def test_only_published_event_types_reach_the_events_topic(s: Scenario) -> None:
    from eventsourcing.utils import get_topic

    from services.access.eventlog.topics import PUBLISHED_TOPICS

    owner, guest = s.user(phone="+4790022222"), s.user()
    charger = s.charger(owner)
    s.share(owner, guest, [charger])
    s.ok("RemoveUser", owner, user_id=guest)
    stored = s.store.recorder.select_notifications(1, 10_000)
    published = {n.topic for n in stored if n.topic in PUBLISHED_TOPICS}
    internal = {n.topic for n in stored} - published
    assert {t.rsplit(".", 1)[-1] for t in internal} >= {"Opened", "SharesRecorded",
                                                        "PendingInvitationsChanged"}
    decoded = {get_topic(type(s.store.mapper.to_domain_event(n))) for n in stored
               if n.topic in published}
    assert decoded == published
    assert len(s.published_since(0)) == sum(1 for n in stored if n.topic in PUBLISHED_TOPICS)


def test_a_command_that_raced_on_stale_state_is_rerun_and_rechecked(s: Scenario) -> None:
    owner, first, second = s.user(), s.user(), s.user()
    charger = s.charger(owner)
    load_batch = s.store.load_batch
    competitor = Executor(s.store, Rules(SECRET), clock=lambda: s.now)
    raced: list[CommandResult] = []
    racing: list[bool] = []

    def load_then_lose_the_race(command_ids: Any, aggregate_ids: Any) -> Any:
        seen, found = load_batch(command_ids, aggregate_ids)
        if charger in found and not racing:
            racing.append(True)
            command = TransferChargerToUser(charger_id=charger, keep_connection=True,
                                            recipient_email=s.emails[second])
            raced.extend(competitor.execute(
                [Valid(str(uuid4()), owner, "TransferChargerToUser", command)]))
        return seen, found

    s.store.load_batch = load_then_lose_the_race  # type: ignore[method-assign]
    result = s.run("TransferChargerToUser", owner, charger_id=charger,
                   recipient_email=s.emails[first], keep_connection=True)
    assert raced[0].status == "accepted"
    assert (result.status, result.reason) == ("rejected", "forbidden")
    assert s.charger_state(charger).owner_id == second
    assert s.of_type("ChargerTransferredToUser")[0]["to_user"]["user_id"] == str(second)
    assert len(s.of_type("ChargerTransferredToUser")) == 1


TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_commands_trace_is_stored_with_its_events_outcome_never_in_its_result(
    s: Scenario,
) -> None:
    owner = s.user()
    traced = Valid(str(uuid4()), owner, "RegisterCharger", COMMAND_TYPES["RegisterCharger"]
                   .model_validate({"charger_id": str(uuid4()), "serial_number": "WB-TR1"}),
                   traceparent=TRACE)
    refused = Valid(str(uuid4()), uuid4(), "MoveChargerToGroup", COMMAND_TYPES["MoveChargerToGroup"]
                    .model_validate({"charger_id": str(uuid4()), "group_id": str(uuid4())}),
                    traceparent=TRACE)
    [result, rejection] = s.executor.execute([traced, refused])
    assert result.status == "accepted"
    assert rejection.status == "rejected"
    seen, _ = s.store.load_batch([traced.command_id, refused.command_id], [])
    assert seen[traced.command_id]["traceparent"] == TRACE
    assert "traceparent" not in seen[refused.command_id]  # no events: nothing to relay
    [replayed] = s.executor.execute([traced])
    assert replayed == result


@pytest.mark.parametrize("failure", [
    OperationalError("the database went away"),  # the recorder's, loading events
    psycopg.OperationalError("server closed the connection"),  # the key ring's, raw
])
def test_a_store_failure_under_a_handler_fails_the_batch_instead_of_rejecting_the_command(
    s: Scenario, failure: Exception,
) -> None:
    owner = s.user()
    command = Cmd("RegisterCharger", owner, {"charger_id": uuid4(), "serial_number": "WB-DB1"})
    load_batch, load = s.store.load_batch, s.store.load

    def nothing_prefetched(command_ids: Any, aggregate_ids: Any) -> Any:
        seen, _ = load_batch(command_ids, [])
        return seen, {}  # so the handler reads what it needs itself

    def failing(aggregate_id: Any) -> Any:
        raise failure

    s.store.cache = None
    s.store.load_batch = nothing_prefetched  # type: ignore[method-assign]
    s.store.load = failing  # type: ignore[method-assign]
    head = s.head()
    with pytest.raises(type(failure)):
        s.batch([command])
    assert s.head() == head  # nothing stored, the result least of all
    s.store.load_batch, s.store.load = load_batch, load  # type: ignore[method-assign]
    [redelivered] = s.batch([command])
    assert redelivered.status == "accepted"
    assert s.types() == ["ChargerRegistered"]
