"""A share's window in words: Babel's dates, times and day names, in the schedule's zone
(daylight saving included), else in the offset each instant was given with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_time, get_day_names

from charger_access_client.text import Locale
from charger_access_client.windows import Schedule
from services.notifications.mail.windows import describe_moment, describe_window, zone_label

OSLO = ZoneInfo("Europe/Oslo")
NNBSP = "\u202f"  # CLDR puts a narrow no-break space before AM/PM


def cldr(text: str) -> str:
    """An English literal as Babel writes it: "6:00 PM" with CLDR's narrow space."""
    return text.replace(" AM", f"{NNBSP}AM").replace(" PM", f"{NNBSP}PM")

WINTER = timezone(timedelta(hours=1))


def schedule(*windows: dict[str, Any], zone: str = "Europe/Oslo") -> Schedule:
    return Schedule.model_validate({"time_zone": zone, "windows": list(windows)})


WEEKEND = schedule({"days": ["sat", "sun"], "from": "08:00", "until": "20:00"})
START = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)  # 18:00 in Oslo (winter, +01:00)
END = datetime(2026, 12, 8, 19, 0, tzinfo=UTC)  # 20:00 in Oslo


def test_a_permanent_share_has_no_window_to_describe() -> None:
    for locale in ("nb", "fr", "en"):
        assert describe_window(None, None, None, locale) is None


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "from Sunday, December 6, 2026 at 6:00 PM until Tuesday, December 8, 2026 at "
               "8:00 PM, every Saturday and Sunday 8:00 AM\u20138:00 PM (Europe/Oslo)"),
        ("nb", "fra søndag 6. desember 2026 kl. 18:00 til tirsdag 8. desember 2026 kl. 20:00, "
               "hver lørdag og søndag kl. 08:00\u201320:00 (Europe/Oslo)"),
        ("fr", "du dimanche 6 décembre 2026 à 18:00 au mardi 8 décembre 2026 à 20:00, "
               "le samedi et le dimanche de 08:00 à 20:00 (Europe/Oslo)"),
    ],
)
def test_bounds_and_schedule_in_the_schedules_zone(locale: Locale, expected: str) -> None:
    assert describe_window(START, END, WEEKEND, locale) == cldr(expected)


@pytest.mark.parametrize("locale", ["nb", "fr", "en"])
def test_dates_times_and_days_are_babels_for_the_locale(locale: Locale) -> None:
    """Derived independently: the pieces Babel gives for the local (Oslo) wall clock."""
    text = describe_window(START, END, WEEKEND, locale)
    assert text is not None
    for instant in (START, END):
        local = instant.astimezone(OSLO)
        assert format_date(local, "full", locale=locale) in text
        assert format_time(local, "short", locale=locale) in text
    days = get_day_names("wide", locale=locale)
    assert days[5] in text
    assert days[6] in text
    assert days[0] not in text


@pytest.mark.parametrize(
    ("locale", "summer", "winter"),
    [("nb", "kl. 10:00", "kl. 09:00"), ("fr", "à 10:00", "à 09:00"), ("en", "at 10:00 AM", "at 9:00 AM")],
)
def test_daylight_saving_shows_the_local_wall_clock(locale: Locale, summer: str, winter: str) -> None:
    """08:00 UTC is 10:00 in Oslo in July (+02:00) and 09:00 in December (+01:00)."""
    july = datetime(2026, 7, 4, 8, 0, tzinfo=UTC)
    december = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    text = describe_window(july, december, WEEKEND, locale)
    assert text is not None
    summer, winter = cldr(summer), cldr(winter)
    assert summer in text
    assert winter in text
    assert text.index(summer) < text.index(winter)
    assert "(UTC" not in text  # the schedule's zone is named, not an offset


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "from Friday, March 20, 2026 at 6:00 PM (UTC+01:00) until Thursday, April 2, 2026 at 6:00 PM (UTC+02:00)"),
        ("nb", "fra fredag 20. mars 2026 kl. 18:00 (UTC+01:00) til torsdag 2. april 2026 kl. 18:00 (UTC+02:00)"),
        ("fr", "du vendredi 20 mars 2026 à 18:00 (UTC+01:00) au jeudi 2 avril 2026 à 18:00 (UTC+02:00)"),
    ],
)
def test_without_a_schedule_each_instant_keeps_its_own_offset(locale: Locale, expected: str) -> None:
    """An owner in Oslo writes +01:00 before the March change and +02:00 after it."""
    start = datetime(2026, 3, 20, 18, 0, tzinfo=WINTER)
    end = datetime(2026, 4, 2, 18, 0, tzinfo=timezone(timedelta(hours=2)))
    assert describe_window(start, end, None, locale) == cldr(expected)


def test_one_offset_for_both_bounds_is_named_once() -> None:
    start = datetime(2026, 12, 4, 18, 0, tzinfo=WINTER)
    end = datetime(2026, 12, 6, 20, 0, tzinfo=WINTER)
    assert describe_window(start, end, None, "en") == cldr(
        "from Friday, December 4, 2026 at 6:00 PM until Sunday, December 6, 2026 at 8:00 PM "
        "(UTC+01:00)"
    )


@pytest.mark.parametrize(
    ("locale", "since", "until"),
    [
        ("en", "from Friday, December 4, 2026 at 6:00 PM (UTC)", "until Friday, December 4, 2026 at 6:00 PM (UTC)"),
        ("nb", "fra fredag 4. desember 2026 kl. 18:00 (UTC)", "til fredag 4. desember 2026 kl. 18:00 (UTC)"),
        ("fr", "à partir du vendredi 4 décembre 2026 à 18:00 (UTC)", "jusqu\u2019au vendredi 4 décembre 2026 à 18:00 (UTC)"),
    ],
)
def test_one_bound_alone(locale: Locale, since: str, until: str) -> None:
    instant = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
    assert describe_window(instant, None, None, locale) == cldr(since)
    assert describe_window(None, instant, None, locale) == cldr(until)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "every Monday to Friday 5:00 PM\u2013midnight and Wednesday and Sunday 12:00 AM\u20136:00 AM (America/New_York)"),
        ("nb", "hver mandag til fredag kl. 17:00\u201324:00 og onsdag og søndag kl. 00:00\u201306:00 (America/New_York)"),
        ("fr", "du lundi au vendredi de 17:00 à 24:00 et le mercredi et le dimanche de 00:00 à 06:00 (America/New_York)"),
    ],
)
def test_weekly_hours_alone_with_ranges_and_the_midnight_ending_a_day(
    locale: Locale, expected: str
) -> None:
    weeknights = schedule(
        {"days": ["fri", "tue", "mon", "thu", "wed"], "from": "17:00", "until": "24:00"},
        {"days": ["sun", "wed"], "from": "00:00", "until": "06:00"},
        zone="America/New_York",
    )
    assert describe_window(None, None, weeknights, locale) == cldr(expected)


def test_days_not_in_a_row_are_listed_one_by_one() -> None:
    odd = schedule({"days": ["mon", "wed", "fri"], "from": "08:00", "until": "09:00"})
    assert describe_window(None, None, odd, "fr") == (
        "le lundi, le mercredi et le vendredi de 08:00 à 09:00 (Europe/Oslo)"
    )


def test_a_moment_in_a_zone_or_in_its_own_offset() -> None:
    end = datetime(2026, 7, 4, 18, 0, tzinfo=UTC)
    assert describe_moment(end, "Europe/Oslo", "nb") == "lørdag 4. juli 2026 kl. 20:00 (Europe/Oslo)"
    assert describe_moment(end, None, "nb") == "lørdag 4. juli 2026 kl. 18:00 (UTC)"
    assert zone_label(datetime(2026, 1, 1, tzinfo=timezone(-timedelta(hours=5, minutes=30))), None) == "UTC-05:30"
