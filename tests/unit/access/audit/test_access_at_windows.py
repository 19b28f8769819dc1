"""Access-at-T honours windows: a time-bound share gives access at T only when its window
is in effect at T, by the window's arithmetic; the boundary events agree away from the
boundaries (they are appended up to a second late)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from charger_access_client.envelope import EventEnvelope
from services.access.audit.replay import replay_until
from services.access.domain.windows import Window, changes, in_effect
from services.access.projection.changes import share_why, window_of
from tests.schedules import WEEKEND
from tests.unit.access.audit.shares import each, iso, run_scheduler, share
from tests.unit.access.scenario import Scenario

# The scenario starts Saturday 1 March 2025, 12:00 UTC (13:00 in Oslo, CET).
MONDAY = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
SATURDAY_15 = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)


async def users_at(s: Scenario, charger: UUID, at: datetime) -> dict[str, dict[str, Any]]:
    state = await replay_until(each(s.published_since(0)), at)
    return {e["user_id"]: e for e in state.users_of(str(charger))}


async def entry_at(s: Scenario, charger: UUID, user: UUID, at: datetime) -> dict[str, Any] | None:
    return (await users_at(s, charger, at)).get(str(user))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def test_a_share_with_from_and_until_gives_access_only_between_them() -> None:
    s = Scenario()
    kari, ola = s.user(name="Kari"), s.user(name="Ola")
    garasje = s.charger(kari, name="Garasje")
    invitation = share(s, kari, ola, [garasje], valid_from=MONDAY, valid_until=SATURDAY_15)
    why = {"source": "share", "invitation_id": str(invitation), "level": "charge",
           "valid_from": iso(MONDAY), "valid_until": iso(SATURDAY_15), "schedule": None}

    before = await entry_at(s, garasje, ola, MONDAY - timedelta(seconds=1))
    assert before == {"user_id": str(ola), "level": "charge", "in_effect": False, "why": [why]}
    for inside in (MONDAY, MONDAY + timedelta(days=5), SATURDAY_15 - timedelta(seconds=1)):
        assert await entry_at(s, garasje, ola, inside) == {
            "user_id": str(ola), "level": "charge", "in_effect": True, "why": [why]}, inside
    after = await entry_at(s, garasje, ola, SATURDAY_15)
    assert after is not None
    assert after["in_effect"] is False
    # The owner's access is always in effect.
    assert (await entry_at(s, garasje, kari, MONDAY - timedelta(days=1)) or {})["in_effect"]


async def test_a_scheduled_share_gives_access_inside_its_weekly_windows_only() -> None:
    s = Scenario()
    kari, ola = s.user(name="Kari"), s.user(name="Ola")
    garasje = s.charger(kari, name="Garasje")
    share(s, kari, ola, [garasje], valid_from=MONDAY, valid_until=SATURDAY_15, schedule=WEEKEND)
    expected = {
        "2025-03-02T10:00": False,  # Sunday 11:00 in Oslo, but before valid_from
        "2025-03-03T13:00": False,  # Monday: inside the bounds, outside the schedule
        "2025-03-08T06:59": False,  # Saturday 07:59 in Oslo
        "2025-03-08T07:00": True,  # Saturday 08:00 in Oslo: the window opens
        "2025-03-09T18:59": True,  # Sunday 19:59 in Oslo
        "2025-03-09T19:00": False,  # Sunday 20:00 in Oslo: closed
        "2025-03-15T11:59": True,  # Saturday, just before valid_until
        "2025-03-15T12:00": False,  # valid_until
        "2025-03-16T10:00": False,  # Sunday inside the schedule, but after valid_until
    }
    for at, effect in expected.items():
        entry = await entry_at(s, garasje, ola, utc(at))
        assert entry is not None, at
        assert entry["in_effect"] is effect, at
        assert entry["level"] == "charge"
        assert entry["why"][0]["schedule"] == WEEKEND


async def test_a_share_out_of_effect_does_not_raise_a_group_members_level() -> None:
    s = Scenario()
    kari, ola = s.user(name="Kari"), s.user(name="Ola")
    fleet = s.group(kari, members=[ola])
    carport = s.charger(kari, fleet, name="Carport")
    share(s, kari, ola, [carport], level="manage", schedule=WEEKEND)
    outside = await entry_at(s, carport, ola, MONDAY)
    assert outside is not None
    assert (outside["level"], outside["in_effect"]) == ("charge", True)
    assert [w["source"] for w in outside["why"]] == ["group:member"]
    inside = await entry_at(s, carport, ola, utc("2025-03-08T10:00"))
    assert inside is not None
    assert inside["level"] == "manage"
    assert [w["source"] for w in inside["why"]] == ["share", "group:member"]
    # The same for the user's side.
    state = await replay_until(each(s.published_since(0)), MONDAY)
    assert [(e["charger_id"], e["level"], e["in_effect"]) for e in state.chargers_of(str(ola))] \
        == [(str(carport), "charge", True)]


async def test_the_window_at_t_is_the_one_granted_last_before_t() -> None:
    s = Scenario()
    kari, ola = s.user(name="Kari"), s.user(name="Ola")
    garasje = s.charger(kari, name="Garasje")
    share(s, kari, ola, [garasje], schedule=WEEKEND)
    s.now = MONDAY
    s.ok("UpdateUserAccess", kari, user_id=ola, charger_ids=[garasje])  # now permanent
    saturday, tuesday = utc("2025-03-01T13:00"), utc("2025-03-04T12:00")
    assert (await entry_at(s, garasje, ola, saturday) or {})["in_effect"] is True
    assert (await entry_at(s, garasje, ola, MONDAY - timedelta(hours=1)) or {})["in_effect"] \
        is False
    permanent = await entry_at(s, garasje, ola, tuesday)
    assert permanent is not None
    assert permanent["in_effect"] is True
    assert "schedule" not in permanent["why"][0]  # a permanent share's why is as before
    s.now = tuesday + timedelta(hours=1)
    s.ok("UpdateUserAccess", kari, user_id=ola, charger_ids=[])
    assert await entry_at(s, garasje, ola, s.now) is None


async def test_the_answer_at_a_boundary_is_exact_while_its_event_is_still_due() -> None:
    """The boundary event comes up to a second after the instant; the answer does not wait."""
    s = Scenario()
    kari, ola = s.user(name="Kari"), s.user(name="Ola")
    garasje = s.charger(kari, name="Garasje")
    share(s, kari, ola, [garasje], valid_from=MONDAY, valid_until=SATURDAY_15)
    run_scheduler(s, garasje, ola, SATURDAY_15 + timedelta(days=1))
    came = [e for e in s.published_since(0) if e.type == "ShareCameIntoEffect"]
    assert [e.time for e in came] == [MONDAY + timedelta(milliseconds=500)]
    assert (await entry_at(s, garasje, ola, MONDAY) or {})["in_effect"] is True


async def test_the_answer_does_not_need_the_scheduler_to_have_run() -> None:
    """After downtime the boundaries come late, with their nominal times; the answer for a
    moment in the downtime is the same before and after they are appended."""
    s = Scenario()
    kari, ola = s.user(name="Kari"), s.user(name="Ola")
    garasje = s.charger(kari, name="Garasje")
    share(s, kari, ola, [garasje], valid_from=MONDAY, valid_until=SATURDAY_15, schedule=WEEKEND)
    s.now = SATURDAY_15 + timedelta(days=2)
    moments = [utc("2025-03-08T10:00"), utc("2025-03-10T10:00")]
    before = [await entry_at(s, garasje, ola, t) for t in moments]
    run_scheduler(s, garasje, ola, s.now)
    late = [e for e in s.published_since(0) if e.type.startswith("Share")]
    # Saturday 8 and Sunday 9 open and close; Saturday 15 opens and ends at valid_until.
    assert len(late) == 6
    assert all(e.time == s.now for e in late)
    assert [await entry_at(s, garasje, ola, t) for t in moments] == before
    assert [e["in_effect"] for e in before if e] == [True, False]


# -- the arithmetic and the boundary events agree ------------------------------------------

SCHEDULE = {"time_zone": "Europe/Oslo", "windows": [
    {"days": ["sat", "sun"], "from": "08:00", "until": "20:00"},
    {"days": ["fri"], "from": "22:00", "until": "24:00"},  # a window ending at midnight
    {"days": ["sun"], "from": "02:00", "until": "04:00"},  # 30 March: 02:00 does not exist
]}


def by_events(envelopes: list[EventEnvelope], window: Window, charger: UUID, user: UUID,
              t: datetime) -> bool | None:
    """Whether the share is in effect at t by the log alone: the state at its grant,
    then every boundary event appended (by envelope time) at or before t."""
    state = None
    for e in envelopes:
        if e.time > t or e.data.get("charger_id") != str(charger) \
                or e.data.get("user_id") != str(user):
            continue
        if e.type == "AccessGranted":
            state = in_effect(window, e.time)  # the charger's own rule at a grant
        elif e.type == "ShareCameIntoEffect":
            state = True
        elif e.type == "ShareWentOutOfEffect":
            state = False
    return state


async def test_the_arithmetic_and_the_boundary_events_agree_away_from_the_boundaries() -> None:
    s = Scenario()
    kari, ola = s.user(name="Kari"), s.user(name="Ola")
    garasje = s.charger(kari, name="Garasje")
    start, end = MONDAY, datetime(2025, 4, 7, 12, tzinfo=UTC)  # across the change to CEST
    share(s, kari, ola, [garasje], valid_from=start, valid_until=end, schedule=SCHEDULE)
    window = Window.from_data({"valid_from": start, "valid_until": end, "schedule": SCHEDULE})
    granted = s.now
    boundaries = run_scheduler(s, garasje, ola, end + timedelta(days=1))
    assert boundaries == [at for at, _on in changes(window, granted, end + timedelta(days=1))]
    envelopes = s.published_since(0)
    step, t, seen = timedelta(minutes=7, seconds=13), granted, {True: 0, False: 0}
    while t < end + timedelta(days=1):
        if not any(b <= t < b + timedelta(seconds=1) for b in boundaries):
            state = await replay_until(each(envelopes), t)
            [entry] = [e for e in state.users_of(str(garasje)) if e["user_id"] == str(ola)]
            effect: bool = entry["in_effect"]
            assert effect is by_events(envelopes, window, garasje, ola, t), t
            seen[effect] += 1
        t += step
    assert seen[True] > 100
    assert seen[False] > 100


async def test_the_replayed_why_reads_as_the_read_models_why() -> None:
    """Auditors and the query API name a time-bound share alike: the replay builds its
    `why` with the projection's own `share_why`, spelled as the published event."""
    s = Scenario()
    kari, ola = s.user(name="Kari"), s.user(name="Ola")
    garasje = s.charger(kari, name="Garasje")
    share(s, kari, ola, [garasje], valid_from=MONDAY, valid_until=SATURDAY_15, schedule=WEEKEND)
    [granted] = [e for e in s.published_since(0) if e.type == "AccessGranted"]
    projected = share_why(granted.data["source"], window_of(granted.data)) | {
        "level": granted.data["level"]}
    assert projected["valid_from"] == granted.data["valid_from"] == iso(MONDAY)
    assert projected["schedule"] == WEEKEND
    entry = await entry_at(s, garasje, ola, SATURDAY_15 - timedelta(days=6, hours=2))
    assert entry is not None
    assert entry["why"] == [projected]
