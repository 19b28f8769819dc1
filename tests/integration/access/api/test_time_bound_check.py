"""The query API on time-bound shares, against the real store and PostgreSQL: the check at
a moment (`at=`) before, inside and after a window and with a schedule, `upcoming`, list
entries' `in_effect`, the fast path agreeing with the app, and a check that flips at
`valid_from` on its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from tests.integration.access.time_bound import ReadSide, Writes, iso, read_side
from tests.schedules import WEEKEND

pytestmark = pytest.mark.integration

OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture
async def both(new_database: Any) -> AsyncIterator[tuple[Writes, ReadSide]]:
    url: str = new_database()
    writes = Writes(url)
    async with (asyncpg.create_pool(url, min_size=1, max_size=4) as pool,
                read_side(pool, "read") as read):
        yield writes, read
    writes.store.close()


def share_entry(window: dict[str, Any], invitation: Any, level: str = "charge") -> dict[str, Any]:
    """A time-bound share's `why` entry: its source, window and level."""
    return {"source": "share", "invitation_id": str(invitation), "level": level,
            "valid_from": None, "valid_until": None, "schedule": None, **window}


async def test_a_check_at_a_moment_before_inside_and_after_the_window(both):
    w, read = both
    owner, guest = w.user(), w.user()
    charger = w.charger(owner)
    start, end = w.now + timedelta(days=1), w.now + timedelta(days=2)
    invitation = w.share_in(owner, guest, [charger], valid_from=start, valid_until=end)
    await read.sync()
    entry = share_entry({"valid_from": iso(start), "valid_until": iso(end)},
                        invitation)

    before = await read.check(guest, charger, at=iso(start - timedelta(seconds=1)))
    assert (before["allowed"], before["level"], before["why"]) == (False, None, [])
    assert before["upcoming"] == {"level": "charge", "next_start": iso(start)}

    inside = await read.check(guest, charger, at=iso(start))
    assert (inside["allowed"], inside["level"], inside["upcoming"]) == (True, "charge", None)
    assert inside["why"] == [entry]

    last = await read.check(guest, charger, at=iso(end - timedelta(microseconds=1)))
    assert last["allowed"] is True

    after = await read.check(guest, charger, at=iso(end))
    assert (after["allowed"], after["level"], after["why"]) == (False, None, [])
    assert after["upcoming"] == {"level": "charge", "next_start": None}

    now = await read.check(guest, charger)  # no `at`: now, before the window
    assert (now["allowed"], now["upcoming"]) == (False, {"level": "charge",
                                                         "next_start": iso(start)})
    owner_check = await read.check(owner, charger, at=iso(start))
    assert owner_check["upcoming"] is None
    assert [r["source"] for r in owner_check["why"]] == ["owner", "group:owner"]


async def test_a_scheduled_share_counts_only_inside_its_weekly_windows(both):
    w, read = both
    owner, guest = w.user(), w.user()
    charger = w.charger(owner)
    w.share_in(owner, guest, [charger], schedule=WEEKEND)
    await read.sync()
    today = w.now.astimezone(OSLO).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    morning = datetime(saturday.year, saturday.month, saturday.day, 10, tzinfo=OSLO)
    evening = morning.replace(hour=21)
    sunday_opening = (morning + timedelta(days=1)).replace(hour=8)

    assert (await read.check(guest, charger, at=morning.isoformat()))["allowed"] is True
    closed = await read.check(guest, charger, at=evening.isoformat())
    assert closed["allowed"] is False
    assert closed["upcoming"] == {"level": "charge", "next_start": iso(sunday_opening)}
    opened = await read.check(guest, charger, at=morning.isoformat())
    assert opened["why"][0]["schedule"] == WEEKEND


async def test_a_standing_level_stays_while_a_higher_share_waits_for_its_window(both):
    w, read = both
    owner, member = w.user(), w.user()
    fleet = w.group(owner, members=[member])
    charger = w.charger(owner, fleet)
    start = w.now + timedelta(hours=3)
    w.share_in(owner, member, [charger], "manage", valid_from=start)
    await read.sync()

    waiting = await read.check(member, charger, level="manage", at=iso(start - timedelta(hours=1)))
    assert (waiting["allowed"], waiting["level"]) == (False, "charge")
    assert [r["source"] for r in waiting["why"]] == ["group:member"]
    assert waiting["upcoming"] == {"level": "manage", "next_start": iso(start)}

    granted = await read.check(member, charger, level="manage", at=iso(start))
    assert (granted["allowed"], granted["level"], granted["upcoming"]) == (True, "manage", None)
    assert [r["source"] for r in granted["why"]] == ["share", "group:member"]


async def test_list_entries_say_whether_the_access_is_in_effect_now(both):
    w, read = both
    owner, waiting, current = w.user(), w.user(), w.user()
    charger = w.charger(owner)
    w.share_in(owner, waiting, [charger], "manage", valid_from=w.now + timedelta(days=1))
    w.share_in(owner, current, [charger], valid_until=w.now + timedelta(days=1))
    await read.sync()

    users = (await read.get(f"/v1/chargers/{charger}/users"))["users"]
    by_user = {u["user_id"]: (u["level"], u["in_effect"]) for u in users}
    assert by_user == {str(owner): ("manage", True), str(waiting): ("manage", False),
                       str(current): ("charge", True)}
    waiting_entry = next(u for u in users if u["user_id"] == str(waiting))
    assert waiting_entry["why"][0]["valid_from"] is not None  # every reason, with its window

    chargers = (await read.get(f"/v1/users/{waiting}/chargers"))["chargers"]
    assert [(c["charger_id"], c["level"], c["in_effect"]) for c in chargers] == [
        (str(charger), "manage", False)]


async def test_the_fast_path_answers_windowed_rows_as_the_app_does(both):
    w, read = both
    owner, before, inside, scheduled, member = (w.user() for _ in range(5))
    fleet = w.group(owner, members=[member])
    charger = w.charger(owner, fleet)
    w.share_in(owner, before, [charger], valid_from=w.now + timedelta(days=1))
    w.share_in(owner, inside, [charger], "manage", valid_until=w.now + timedelta(days=1))
    w.share_in(owner, scheduled, [charger], schedule=WEEKEND)
    w.share_in(owner, member, [charger], "manage", valid_from=w.now + timedelta(days=2))
    await read.sync()

    for user in (owner, before, inside, scheduled, member):
        for level in ("charge", "manage"):
            path = f"/v1/access/check?user_id={user}&charger_id={charger}&level={level}"
            fast = await read.client.get(path, headers={"Authorization": "Bearer time-bound-token"})
            slow = await read.reference.get(path,
                                            headers={"Authorization": "Bearer time-bound-token"})
            assert (fast.status_code, fast.headers.raw, fast.content) == (
                slow.status_code, slow.headers.raw, slow.content), (user, level)
    member_check = await read.check(member, charger, level="manage")
    assert (member_check["allowed"], member_check["level"]) == (False, "charge")


async def test_a_check_flips_at_valid_from_and_back_at_valid_until_on_its_own(both):
    w, read = both
    owner, guest = w.user(), w.user()
    charger = w.charger(owner)
    start = datetime.now(UTC) + timedelta(seconds=1.5)
    end = start + timedelta(seconds=1.5)
    w.share_in(owner, guest, [charger], valid_from=start, valid_until=end)
    await read.sync()  # no boundary event is appended: the check evaluates the window

    assert (await read.check(guest, charger))["allowed"] is False
    flips = []
    for expected in (True, False):
        while (await read.check(guest, charger))["allowed"] is not expected:
            assert datetime.now(UTC) < end + timedelta(seconds=2), "never flipped"
            await asyncio.sleep(0.02)
        flips.append(datetime.now(UTC))
    assert start <= flips[0] < start + timedelta(seconds=1)
    assert end <= flips[1] < end + timedelta(seconds=1)
    assert (await read.check(guest, charger, fast=False))["allowed"] is False


async def test_a_moment_asked_for_is_answered_by_the_app_and_parsed_strictly(both):
    w, read = both
    owner, guest = w.user(), w.user()
    charger = w.charger(owner)
    await read.sync()
    headers = {"Authorization": "Bearer time-bound-token"}
    naive = await read.client.get(f"/v1/access/check?user_id={guest}&charger_id={charger}"
                                  "&at=2026-01-01T10:00:00", headers=headers)
    assert naive.status_code == 422
    assert naive.json()["error"] == "invalid"
    escaped = await read.client.get(f"/v1/access/check?user_id={owner}&charger_id={charger}"
                                    "&at=2026-01-01T10:00:00%2B01:00", headers=headers)
    assert escaped.status_code == 200
    assert escaped.json()["allowed"] is True


async def test_the_invitation_shows_the_window_of_the_shares_it_grants(both):
    w, read = both
    owner, guest = w.user(), w.user()
    charger = w.charger(owner)
    until = w.now + timedelta(days=3)
    invitation = w.share_in(owner, guest, [charger], valid_until=until, schedule=WEEKEND)
    permanent = w.share_in(owner, w.user(), [charger])
    await read.sync()
    body = await read.get(f"/v1/invitations/{invitation}")
    assert (body["valid_from"], body["valid_until"], body["schedule"]) == (
        None, iso(until), WEEKEND)
    plain = await read.get(f"/v1/invitations/{permanent}")
    assert (plain["valid_from"], plain["valid_until"], plain["schedule"]) == (None, None, None)
