"""Timeline sentences state a share's window ("from … until …", the schedule named) and
its boundaries; a permanent share reads as it always did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

from services.access.audit.timeline import Subject, timeline
from services.access.audit.window_words import DASH, instant, schedule_phrase, window_phrase
from services.access.domain.base import Cause
from services.access.domain.weekly import Schedule
from services.access.domain.windows import Window
from tests.schedules import WEEKEND
from tests.unit.access.audit.shares import run_scheduler, share
from tests.unit.access.scenario import Scenario

MONDAY = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
SATURDAY_15 = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)


def dashed(text: str) -> str:
    """`~` written for the en dash the sentences use (`DASH`)."""
    return text.replace("~", DASH)


WINDOW = dashed("from 2025-03-03 13:00 CET until 2025-03-15 13:00 CET "
                "on Sat, Sun 08:00~20:00 (Europe/Oslo)")


def sentences(s: Scenario, charger: UUID) -> list[str]:
    return [e.sentence for e in timeline(Subject("charger", str(charger)), s.published_since(0))]


def test_invitation_acceptance_and_grant_say_from_until_and_name_the_schedule() -> None:
    s = Scenario()
    kari, ola = s.user(name="Kari"), s.user(name="Ola", email="ola@example.no")
    garasje = s.charger(kari, name="Garasje")
    share(s, kari, ola, [garasje], valid_from=MONDAY, valid_until=SATURDAY_15, schedule=WEEKEND)
    assert sentences(s, garasje)[1:] == [
        f"Kari invited ola@example.no to Garasje (charge), {WINDOW}",
        f"Ola accepted the invitation to Garasje (charge), {WINDOW}",
        f"Ola got charge access to Garasje by accepting an invitation, {WINDOW}",
    ]


def test_an_access_update_says_its_window_and_an_instant_keeps_its_offset() -> None:
    s = Scenario()
    kari, ola = s.user(name="Kari"), s.user(name="Ola")
    garasje = s.charger(kari, name="Garasje")
    until = datetime(2025, 3, 20, 18, 30, tzinfo=timezone(timedelta(hours=2)))
    s.ok("UpdateUserAccess", kari, user_id=ola, charger_ids=[garasje], level="manage",
         valid_until=until)
    s.ok("UpdateUserAccess", kari, user_id=ola, charger_ids=[garasje], valid_from=MONDAY)
    assert sentences(s, garasje)[1:] == [
        "Kari set Ola's access to Garasje (manage), until 2025-03-20 18:30 +02:00",
        "Ola got manage access to Garasje from Kari, until 2025-03-20 18:30 +02:00",
        "Kari set Ola's access to Garasje (charge), from 2025-03-03 12:00 UTC",
        "Ola got charge access to Garasje from Kari, from 2025-03-03 12:00 UTC",
    ]


def test_permanent_shares_read_as_before() -> None:
    s = Scenario()
    kari, ola = s.user(name="Kari"), s.user(name="Ola", email="ola@example.no")
    garasje = s.charger(kari, name="Garasje")
    share(s, kari, ola, [garasje])
    s.ok("UpdateUserAccess", kari, user_id=ola, charger_ids=[garasje], level="manage")
    assert sentences(s, garasje)[1:] == [
        "Kari invited ola@example.no to Garasje (charge)",
        "Ola accepted the invitation to Garasje (charge)",
        "Ola got charge access to Garasje by accepting an invitation",
        "Kari set Ola's access to Garasje (manage)",
        "Ola got manage access to Garasje from Kari",
    ]


def test_boundaries_say_when_in_the_schedules_zone_and_what_comes_next() -> None:
    s = Scenario()
    kari, ola = s.user(name="Kari"), s.user(name="Ola")
    garasje = s.charger(kari, name="Garasje")
    share(s, kari, ola, [garasje], valid_from=MONDAY, valid_until=SATURDAY_15, schedule=WEEKEND)
    run_scheduler(s, garasje, ola, SATURDAY_15)
    entries = timeline(Subject("charger", str(garasje)), s.published_since(0))
    boundaries = [e for e in entries if e.type.startswith("Share")]
    assert [e.sentence for e in boundaries] == [
        "Ola's charge share on Garasje came into effect at 2025-03-08 08:00 CET, "
        "until 2025-03-08 20:00 CET",
        "Ola's charge share on Garasje went out of effect at 2025-03-08 20:00 CET, "
        "back in effect at 2025-03-09 08:00 CET",
        "Ola's charge share on Garasje came into effect at 2025-03-09 08:00 CET, "
        "until 2025-03-09 20:00 CET",
        "Ola's charge share on Garasje went out of effect at 2025-03-09 20:00 CET, "
        "back in effect at 2025-03-15 08:00 CET",
        "Ola's charge share on Garasje came into effect at 2025-03-15 08:00 CET, "
        "until 2025-03-15 13:00 CET",
        "Ola's charge share on Garasje ended at 2025-03-15 13:00 CET, "
        "when its window closed for good",
    ]
    # The scheduler is not a user: it is named as it names itself.
    assert {e.actor_name for e in boundaries} == {"scheduler"}


def test_the_ending_notice_says_when_the_share_ends() -> None:
    s = Scenario()
    kari, ola = s.user(name="Kari"), s.user(name="Ola")
    garasje = s.charger(kari, name="Garasje")
    share(s, kari, ola, [garasje], valid_until=SATURDAY_15)
    s.now = SATURDAY_15 - timedelta(hours=20)
    charger = s.charger_state(garasje)
    assert charger.notice_ending(s.user_state(ola).person(), s.now, timedelta(hours=24),
                                 Cause("scheduler", f"n-{uuid4()}", s.now))
    s.store.save(charger)
    assert sentences(s, garasje)[-1] == (
        "Ola was told that their charge share on Garasje ends at 2025-03-15 12:00 UTC")


def test_window_words() -> None:
    oslo = Schedule.from_data({"time_zone": "Europe/Oslo", "windows": [
        {"days": ["fri", "mon", "wed", "tue", "thu"], "from": "17:00", "until": "22:00"},
        {"days": ["sun", "sat"], "from": "00:00", "until": "24:00"},
        {"days": ["mon", "wed"], "from": "06:00", "until": "07:30"},
    ]})
    assert schedule_phrase(oslo) == dashed("Mon~Fri 17:00~22:00 and Sat, Sun 00:00~24:00 and "
                                           "Mon, Wed 06:00~07:30 (Europe/Oslo)")
    assert window_phrase(Window()) == ""
    summer = datetime(2025, 6, 6, 14, 0, 30, tzinfo=UTC)
    assert instant(summer, oslo.zone) == "2025-06-06 16:00:30 CEST"
    assert instant(summer.replace(second=0)) == "2025-06-06 14:00 UTC"
    west = timezone(timedelta(hours=-3, minutes=-30))
    assert instant(summer.astimezone(west)) == "2025-06-06 10:30:30 -03:30"
