"""After ForgetUser, a scan of the whole database finds none of the person's personal data,
while the history stays: the log still holds their events, under a pseudonym."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest

from charger_access_client.topics import Topics
from services.access.bootstrap import AccessService
from services.access.config import AccessSettings
from tests.kafka_helpers import CommandClient

pytestmark = pytest.mark.integration

SCANNED_TYPES = ("text", "character varying", "jsonb", "json", "bytea")


async def scan(url: str, needles: list[str]) -> list[tuple[str, str, str, str]]:
    """(schema, table, column, needle) for every column of the database holding a needle."""
    conn = await asyncpg.connect(url)
    try:
        columns = await conn.fetch(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND data_type = ANY($1)",
            list(SCANNED_TYPES))
        found = []
        for column in columns:
            col = f'"{column["column_name"]}"'
            condition = (f"position(convert_to($1, 'UTF8') in {col}) > 0" if column["data_type"] == "bytea"
                         else f"strpos(lower({col}::text), lower($1)) > 0")
            for needle in needles:
                hit = await conn.fetchval(
                    f'SELECT count(*) FROM "{column["table_schema"]}"."{column["table_name"]}" '
                    f"WHERE {condition}", needle)
                if hit:
                    found.append((column["table_schema"], column["table_name"], column["column_name"], needle))
        return found
    finally:
        await conn.close()


async def test_forgetting_leaves_no_personal_data_anywhere_in_the_database(new_database: Any, kafka_bootstrap: str) -> None:
    url = new_database()
    settings = AccessSettings(
        database_url=url, kafka_bootstrap_servers=kafka_bootstrap,
        topics=Topics(f"fg{uuid.uuid4().hex[:6]}."), consumer_group_prefix=f"fg{uuid.uuid4().hex[:6]}",
        token_secret=b"forget-secret",
    )
    service = AccessService(settings, serve_api=False)
    await service.start()
    client = CommandClient(kafka_bootstrap, settings.topics)
    await client.start()
    try:
        owner, ingeborg = uuid.uuid4(), uuid.uuid4()
        email, name, phone = "ingeborg.stavdal@example.no", "Ingeborg Stavdal-Kvaefjord", "+4798765432"
        token, label = "QX7Z:ROWAN.94", "Rognebaer-brikke"
        charger, group, invitation = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        for type_, data, actor in [
            ("RegisterUser", {"user_id": str(owner), "email": f"{owner}@example.no", "name": "Owner"}, owner),
            ("RegisterUser", {"user_id": str(ingeborg), "email": email, "name": name, "phone": phone}, ingeborg),
            ("RegisterCharger", {"charger_id": str(charger), "serial_number": f"F-{charger.hex[:10]}", "name": "Fjøs"}, owner),
            ("CreateGroup", {"group_id": str(group), "name": "Gard"}, owner),
            ("AddGroupMember", {"group_id": str(group), "user_id": str(ingeborg), "role": "admin"}, owner),
            ("InviteUser", {"invitation_id": str(invitation), "email": email, "charger_ids": [str(charger)]}, owner),
            ("UpdateUserAccess", {"user_id": str(ingeborg), "charger_ids": [str(charger)], "level": "manage"}, owner),
            ("TransferChargerOwnership", {"charger_id": str(charger), "new_owner_id": str(owner)}, owner),
            ("AddChargeKey", {"key_id": str(uuid.uuid4()), "user_id": str(ingeborg), "id_token": token.lower(),
                              "label": label}, ingeborg),
            ("AddChargeKey", {"key_id": str(uuid.uuid4()), "user_id": str(ingeborg), "id_token": "QX7Z2",
                              "type": "KeyCode"}, owner),
        ]:
            result = await client.run(type_, data, actor)
            assert result["status"] == "accepted", result
        forgot = await client.run("ForgetUser", {"user_id": str(ingeborg)}, ingeborg)
        assert forgot["status"] == "accepted"
        assert service.projection is not None
        assert await service.projection.wait_for(forgot["position"], 20)
        await asyncio.sleep(0.2)

        assert await scan(url, [email, name, phone, token, label, "QX7Z2"]) == []
        conn = await asyncpg.connect(url)
        try:
            # The history is still there, pseudonymous.
            events = await conn.fetchval(
                "SELECT count(*) FROM chargeraccess_events WHERE originator_id = $1", ingeborg)
            assert events >= 2
            row = await conn.fetchrow("SELECT email, name, phone FROM read.users WHERE user_id = $1", ingeborg)
            assert row["email"].startswith("forgotten-")
            assert row["phone"] is None
            invited = await conn.fetchval("SELECT email FROM read.invitations WHERE invitation_id = $1", invitation)
            assert invited.startswith("forgotten-")
            assert await conn.fetchval("SELECT count(*) FROM read.charge_keys WHERE user_id = $1", ingeborg) == 0
        finally:
            await conn.close()
        # A control: the owner's data is untouched (the scan can find things).
        assert await scan(url, [f"{owner}@example.no"]) != []
    finally:
        await client.stop()
        await service.stop()
