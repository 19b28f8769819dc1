"""A time-bound share's window in words, in the reader's language (SPEC "Time-bound and
recurring shares": e-mails state the window).

One phrase, such as "from Sunday, December 6, 2026 at 6:00 PM until Tuesday, December 8,
2026 at 8:00 PM, every Saturday and Sunday 8:00 AM to 8:00 PM (Europe/Oslo)" (with an en
dash for "to"), which each template sets into a sentence of its own. Dates, times, day
names and lists come from Babel (CLDR); only the few connecting words are ours.

Instants are shown in the schedule's time zone, which is the clock the owner thought in
and the one the weekly hours are read in. Without a schedule there is no zone to name,
and we know no recipient's: each instant is shown in the UTC offset it was given with
(the owner's own clock when they set it), labelled with that offset.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel import Locale as BabelLocale
from babel.dates import format_date, format_time, get_day_names
from babel.lists import format_list

from charger_access_client.text import Locale
from charger_access_client.windows import Schedule, ScheduleWindow

DASH = "\N{EN DASH}"
APOSTROPHE = "\N{RIGHT SINGLE QUOTATION MARK}"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Phrases:
    """The connecting words of one language; `{…}` are filled with Babel's output."""

    between: str
    since: str
    until: str
    moment: str
    every: str
    hours: str
    day: str
    day_range: str
    midnight: str
    labelled: str


PHRASES: dict[Locale, Phrases] = {
    "en": Phrases(
        between="from {start} until {end}",
        since="from {start}",
        until="until {end}",
        moment="{date} at {time}",
        every="every {hours}",
        hours=f"{{days}} {{start}}{DASH}{{end}}",
        day="{day}",
        day_range="{first} to {last}",
        midnight="midnight",
        labelled="{text} ({zone})",
    ),
    "nb": Phrases(
        between="fra {start} til {end}",
        since="fra {start}",
        until="til {end}",
        moment="{date} kl. {time}",
        every="hver {hours}",
        hours=f"{{days}} kl. {{start}}{DASH}{{end}}",
        day="{day}",
        day_range="{first} til {last}",
        midnight="24:00",
        labelled="{text} ({zone})",
    ),
    "fr": Phrases(
        between="du {start} au {end}",
        since="à partir du {start}",
        until=f"jusqu{APOSTROPHE}au {{end}}",
        moment="{date} à {time}",
        every="{hours}",
        hours="{days} de {start} à {end}",
        day="le {day}",
        day_range="du {first} au {last}",
        midnight="24:00",
        labelled="{text} ({zone})",
    ),
}


def describe_window(
    valid_from: datetime | None,
    valid_until: datetime | None,
    schedule: Schedule | None,
    locale: Locale,
) -> str | None:
    """The window as a phrase; None for a permanent share (its e-mails say nothing new)."""
    if valid_from is None and valid_until is None and schedule is None:
        return None
    words = PHRASES[locale]
    babel = _babel(locale)
    zone = ZoneInfo(schedule.time_zone) if schedule is not None else None
    bounds = [b for b in (valid_from, valid_until) if b is not None]
    # One label at the end when every instant is in the same zone or offset.
    labels = {zone_label(b, zone) for b in bounds} if zone is None else {zone.key}
    each = len(labels) > 1
    parts: list[str] = []
    start = _moment(valid_from, zone, babel, words, each) if valid_from else None
    end = _moment(valid_until, zone, babel, words, each) if valid_until else None
    if start and end:
        parts.append(words.between.format(start=start, end=end))
    elif start:
        parts.append(words.since.format(start=start))
    elif end:
        parts.append(words.until.format(end=end))
    if schedule is not None:
        parts.append(_weekly(schedule, babel, words))
    text = ", ".join(parts)
    return text if each else words.labelled.format(text=text, zone=labels.pop())


def describe_moment(value: datetime, time_zone: str | None, locale: Locale) -> str:
    """One instant with its zone: in `time_zone` when given, else in its own offset."""
    zone = ZoneInfo(time_zone) if time_zone else None
    return _moment(value, zone, _babel(locale), PHRASES[locale], labelled=True)


def zone_label(value: datetime, zone: ZoneInfo | None) -> str:
    """The zone's IANA name, else the instant's own offset as `UTC+01:00` (or `UTC`)."""
    if zone is not None:
        return zone.key
    offset = value.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _moment(
    value: datetime, zone: ZoneInfo | None, babel: BabelLocale, words: Phrases, labelled: bool
) -> str:
    local = value.astimezone(zone) if zone is not None else value
    text = words.moment.format(
        date=format_date(local, "full", locale=babel),
        time=format_time(local, "short", locale=babel),  # no tzinfo: keeps the instant's own
    )
    return words.labelled.format(text=text, zone=zone_label(value, zone)) if labelled else text


def _weekly(schedule: Schedule, babel: BabelLocale, words: Phrases) -> str:
    hours = [
        words.hours.format(
            days=_days(window, babel, words),
            start=_clock(window.from_, babel, words),
            end=_clock(window.until, babel, words),
        )
        for window in schedule.windows
    ]
    return words.every.format(hours=format_list(hours, locale=babel))


def _days(window: ScheduleWindow, babel: BabelLocale, words: Phrases) -> str:
    """Day names in week order; three or more days in a row as a range ("Monday to Friday")."""
    names = get_day_names("wide", locale=babel)
    indices = sorted(DAYS.index(day) for day in window.days)
    runs: list[list[int]] = []
    for index in indices:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    phrases: list[str] = []
    for run in runs:
        if len(run) >= 3:
            phrases.append(words.day_range.format(first=names[run[0]], last=names[run[-1]]))
        else:
            phrases.extend(words.day.format(day=names[i]) for i in run)
    return format_list(phrases, locale=babel)


def _clock(hhmm: str, babel: BabelLocale, words: Phrases) -> str:
    """A schedule's wall-clock time; `24:00` (the midnight ending the day) has no `time`."""
    if hhmm == "24:00":
        return words.midnight
    hour, minute = hhmm.split(":")
    return format_time(time(int(hour), int(minute)), "short", locale=babel)


@functools.cache
def _babel(locale: Locale) -> BabelLocale:
    return BabelLocale.parse(locale)
