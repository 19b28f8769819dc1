"""The client package against the real system: a Tansu broker and the access service on a
database of its own, as an integrating service and an operator's shell would use it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from charger_access_client import CommandResult, Topics, cli
from charger_access_client.client import (
    AccessClient,
    BrokerUnreachableError,
    NoResultError,
    TopicMissingError,
)
from charger_access_client.commands import RegisterCharger, RegisterUser
from services.common.kafka import ensure_topics
from services.common.timeouts import wait_for
from services.local.tansu import free_port
from tests.integration.access.messaging.in_process import Running, access_service

pytestmark = pytest.mark.integration

CLI = Path(sys.executable).with_name("access-cli")


@pytest.fixture(scope="module")
async def running(database_url: str, kafka_bootstrap: str) -> AsyncIterator[Running]:
    async with access_service(database_url, kafka_bootstrap, "client-token") as running:
        yield running


@pytest.fixture
async def client(running: Running) -> AsyncIterator[AccessClient]:
    env = {"KAFKA_BOOTSTRAP_SERVERS": running.bootstrap,
           "TOPIC_PREFIX": running.service.settings.topics.prefix}
    async with AccessClient.from_env(env, source="client-tests") as client:
        yield client


def _user() -> tuple[uuid.UUID, dict[str, str]]:
    user = uuid.uuid4()
    return user, {"user_id": str(user), "email": f"{user.hex}@client.example"}


async def test_a_command_is_sent_and_its_result_awaited(client: AccessClient) -> None:
    user, data = _user()
    result = await client.run("RegisterUser", data, actor=user)
    assert result.status == "accepted"
    assert result.position is not None
    charger = uuid.uuid4()
    # A contract model is sent as its JSON fields.
    model = RegisterCharger(charger_id=charger, serial_number=f"SN-{charger.hex[:12]}")
    assert (await client.run("RegisterCharger", model, actor=user)).status == "accepted"


async def test_a_refused_command_comes_back_rejected_with_its_reason(
    client: AccessClient,
) -> None:
    user, data = _user()
    assert (await client.run("RegisterUser", data, actor=user)).status == "accepted"
    again = await client.run("RegisterUser", {**data, "user_id": str(uuid.uuid4())},
                             actor=uuid.uuid4())
    assert (again.status, again.reason) == ("rejected", "email_taken")
    invalid = await client.run("RegisterUser", {"user_id": "not a uuid"}, actor=user)
    assert (invalid.status, invalid.reason) == ("rejected", "invalid")
    assert invalid.errors


async def test_the_same_id_sent_again_gets_the_same_result(client: AccessClient) -> None:
    user, data = _user()
    command_id = str(uuid.uuid4())
    first = await client.run("RegisterUser", data, actor=user, command_id=command_id)
    second = await client.run("RegisterUser", data, actor=user, command_id=command_id)
    assert first == second
    assert first.command_id == command_id


async def test_a_result_that_arrives_before_anyone_awaits_it_is_kept(running: Running) -> None:
    arrived = asyncio.Event()
    async with AccessClient(running.bootstrap, topics=running.service.settings.topics,
                            on_result=lambda _: arrived.set()) as client:
        user, data = _user()
        sent = await client.send("RegisterUser", data, actor=user)
        await wait_for(arrived.wait(), 30)
        assert (await client.result(sent, timeout=5)).status == "accepted"


async def test_a_binary_binding_record_is_answered_by_its_ce_id(client: AccessClient) -> None:
    user, data = _user()
    command_id = str(uuid.uuid4())
    headers = [("ce_specversion", b"1.0"), ("ce_id", command_id.encode()),
               ("ce_source", b"client-tests"), ("ce_type", b"RegisterUser"),
               ("ce_actor", str(user).encode()), ("content-type", b"application/json")]
    await client.send_raw(json.dumps(data).encode(), key=command_id, headers=headers,
                          command_id=command_id)
    assert (await client.result(command_id)).status == "accepted"


async def test_no_result_in_time_says_which_command(kafka_bootstrap: str) -> None:
    """Topics with no service behind them: the command is stored by the broker, never
    answered."""
    topics = Topics(f"c{uuid.uuid4().hex[:8]}.")
    await ensure_topics(kafka_bootstrap, topics.all())
    async with AccessClient(kafka_bootstrap, topics=topics) as client:
        user, data = _user()
        command_id = str(uuid.uuid4())
        with pytest.raises(NoResultError, match=command_id) as late:
            await client.run("RegisterUser", data, actor=user, command_id=command_id,
                             timeout=0.5)
    assert late.value.command_id == command_id


async def test_the_cli_says_which_command_had_no_result_in_time(
    kafka_bootstrap: str, capsys: pytest.CaptureFixture[str],
) -> None:
    topics = Topics(f"c{uuid.uuid4().hex[:8]}.")
    await ensure_topics(kafka_bootstrap, topics.all())
    user, data = _user()
    command_id = str(uuid.uuid4())
    argv = ["send", "RegisterUser", "--actor", str(user), "--data", json.dumps(data),
            "--id", command_id, "--timeout", "0.5"]
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "TOPIC_PREFIX": topics.prefix}
    assert await asyncio.to_thread(cli.run, argv, env) == cli.NO_RESULT
    assert f"--id {command_id}" in capsys.readouterr().err


async def test_no_broker_at_the_address_is_a_clear_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    nobody = f"127.0.0.1:{free_port()}"
    with pytest.raises(BrokerUnreachableError, match=f"at {nobody} over PLAINTEXT"):
        await AccessClient(nobody).start()
    env = {"KAFKA_BOOTSTRAP_SERVERS": nobody}
    assert await asyncio.to_thread(cli.run, ["results"], env) == cli.UNREACHABLE
    assert nobody in capsys.readouterr().err


async def test_a_topic_prefix_without_topics_is_refused_at_start(kafka_bootstrap: str) -> None:
    client = AccessClient(kafka_bootstrap, topics=Topics("no-such-deployment."))
    with pytest.raises(TopicMissingError, match="TOPIC_PREFIX"):
        await client.start()
    await client.stop()


def _cli(running: Running, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    """The installed `access-cli` script, in a process of its own."""
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": running.bootstrap,
           "TOPIC_PREFIX": running.service.settings.topics.prefix}
    return subprocess.run([str(CLI), *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=60, check=False)


async def test_the_cli_sends_a_command_and_prints_its_result(
    running: Running, capsys: pytest.CaptureFixture[str],
) -> None:
    user, data = _user()
    accepted = await asyncio.to_thread(
        _cli, running, "send", "RegisterUser", "--actor", str(user), "--data", "-",
        stdin=json.dumps(data))
    assert accepted.returncode == 0, accepted.stderr
    result = CommandResult.model_validate_json(accepted.stdout)
    assert result.status == "accepted"
    # The same in-process (the entry point's own function), now taken: exit status 1.
    env = {"KAFKA_BOOTSTRAP_SERVERS": running.bootstrap,
           "TOPIC_PREFIX": running.service.settings.topics.prefix}
    argv = ["send", "RegisterUser", "--actor", str(user), "--data",
            json.dumps({**data, "user_id": str(uuid.uuid4())})]
    assert await asyncio.to_thread(cli.run, argv, env) == 1
    assert json.loads(capsys.readouterr().out)["reason"] == "email_taken"


async def test_the_cli_follows_results(
    running: Running, client: AccessClient, capsys: pytest.CaptureFixture[str],
) -> None:
    user, data = _user()
    sent = await client.send("RegisterUser", RegisterUser.model_validate(data), actor=user)
    await client.result(sent)
    # Every record on the topic so far, as the service's own test client counted them.
    await running.client.wait_results([sent])
    on_topic = sum(len(v) for k, v in running.client.results.items() if k.endswith("#all"))
    env = {"KAFKA_BOOTSTRAP_SERVERS": running.bootstrap,
           "TOPIC_PREFIX": running.service.settings.topics.prefix}
    argv = ["results", "--from-beginning", "--max", str(on_topic)]
    assert await asyncio.to_thread(cli.run, argv, env) == 0
    lines = capsys.readouterr().out.splitlines()
    results = [CommandResult.model_validate_json(line) for line in lines]
    assert len(results) == on_topic
    assert sent in {r.command_id for r in results}
