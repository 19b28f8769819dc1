"""Property: `in_effect` flips exactly at the instants `changes` yields, checked against a
brute-force reading of the rule, minute by minute, around daylight-saving changes.

The reference below does not use the module's wall-time arithmetic: it reads the wall
clock of every minute in range and applies the design's rule literally — a window opens at
the first minute whose wall clock reads at least `from`, and closes one minute after the
last minute whose wall clock reads before `until`. Every boundary lies on the minute grid
(whole-minute zone offsets, whole-minute windows and bounds), so sampling each minute
misses no flip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.access.domain.weekly import DAYS
from services.access.domain.windows import (
    Window,
    changes,
    in_effect,
    next_change,
    next_start,
    period_end,
)

MINUTE = timedelta(minutes=1)
TICK = timedelta(microseconds=1)
RANGE = timedelta(days=2)
# Days around which each zone changes its clocks (and one quiet day).
ANCHORS = {
    "Europe/Oslo": ["2025-03-30", "2025-10-26", "2026-03-29", "2025-06-15"],
    "America/Santiago": ["2025-09-07", "2025-04-06"],
    "Australia/Lord_Howe": ["2025-10-05", "2025-04-06"],  # half-hour changes
    "America/New_York": ["2025-03-09", "2025-11-02"],
    "UTC": ["2025-06-15"],
}
# Wall times at or inside the zones' changes: 00:00, 01:00-03:00, 23:00-24:00.
NEAR_CHANGES = [0, 60, 90, 120, 135, 150, 180, 1380, 1410, 1440]


@dataclass
class Case:
    data: dict[str, Any]
    zone: str
    after: datetime


@st.composite
def cases(draw: st.DrawFn) -> Case:
    zone = draw(st.sampled_from(sorted(ANCHORS)))
    anchor = datetime.fromisoformat(draw(st.sampled_from(ANCHORS[zone]))).replace(tzinfo=UTC)
    after = anchor + draw(st.integers(-36 * 60, 12 * 60)) * MINUTE
    windows = []
    for _ in range(draw(st.integers(1, 3))):
        days = draw(st.one_of(  # every anchor is a Sunday; Chile's changes at Saturday 24:00
            st.sampled_from([["sun"], ["sat"], ["sat", "sun"]]),
            st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True)))
        start = draw(st.one_of(st.integers(0, 1439), st.sampled_from(NEAR_CHANGES[:-1])))
        until = draw(st.one_of(st.integers(start + 1, 1440),
                               st.sampled_from([m for m in NEAR_CHANGES if m > start])))
        windows.append({"days": days, "from": _hhmm(start), "until": _hhmm(until)})

    def bound() -> str | None:
        minutes = draw(st.one_of(st.none(), st.integers(-24 * 60, 3 * 24 * 60)))
        return None if minutes is None else (after + minutes * MINUTE).isoformat()

    valid_from, valid_until = bound(), bound()
    if valid_from and valid_until and valid_from == valid_until:
        valid_until = None
    elif valid_from and valid_until and valid_from > valid_until:
        valid_from, valid_until = valid_until, valid_from
    schedule = draw(st.one_of(st.none(), st.just({"time_zone": zone, "windows": windows}),
                              st.just({"time_zone": zone, "windows": windows})))
    return Case({"valid_from": valid_from, "valid_until": valid_until, "schedule": schedule},
                zone, after)


def sunday_case(zone: str, anchor: str, start: str, until: str, days: str = "sun") -> Case:
    """A case always run: one window on the day a zone changes its clocks."""
    windows = [{"days": days.split(","), "from": start, "until": until}]
    return Case({"valid_from": None, "valid_until": None,
                 "schedule": {"time_zone": zone, "windows": windows}},
                zone, datetime.fromisoformat(anchor).replace(tzinfo=UTC) - timedelta(hours=12))


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class Reference:
    """The rule, read off the wall clock of every minute from three days before to three
    days after the range."""

    def __init__(self, case: Case) -> None:
        data = case.data
        self.low = _parse(data["valid_from"])
        self.high = _parse(data["valid_until"])
        self.spans: list[tuple[datetime, datetime]] | None = None
        if data["schedule"] is None:
            return
        zone = ZoneInfo(case.zone)
        first = case.after - timedelta(days=3)
        instants = [first + k * MINUTE for k in range(int((RANGE + timedelta(days=6)) / MINUTE))]
        walls = [u.astimezone(zone).replace(tzinfo=None) for u in instants]
        self.spans = []
        day = (case.after - timedelta(days=2)).astimezone(zone).date()
        while day <= (case.after + RANGE + timedelta(days=1)).astimezone(zone).date():
            for window in data["schedule"]["windows"]:
                if DAYS[day.weekday()] not in window["days"]:
                    continue
                opens_at = datetime.combine(day, time.fromisoformat(window["from"]))
                closes_at = (datetime.combine(day + timedelta(days=1), time())
                             if window["until"] == "24:00"
                             else datetime.combine(day, time.fromisoformat(window["until"])))
                opens = next(u for u, w in zip(instants, walls, strict=True) if w >= opens_at)
                closes = max(u for u, w in zip(instants, walls, strict=True) if w < closes_at)
                if opens < closes + MINUTE:
                    self.spans.append((opens, closes + MINUTE))
            day += timedelta(days=1)

    def in_effect(self, t: datetime) -> bool:
        if self.low is not None and t < self.low:
            return False
        if self.high is not None and t >= self.high:
            return False
        return self.spans is None or any(a <= t < b for a, b in self.spans)


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@settings(max_examples=60, deadline=None)
@given(cases())
@example(sunday_case("Europe/Oslo", "2025-10-26", "01:00", "02:30"))  # ends in the repeat
@example(sunday_case("Europe/Oslo", "2025-10-26", "02:30", "04:00"))  # starts in it
@example(sunday_case("Europe/Oslo", "2025-10-26", "02:15", "02:45"))  # inside it
@example(sunday_case("Europe/Oslo", "2025-03-30", "02:15", "02:45"))  # inside the gap
@example(sunday_case("Europe/Oslo", "2025-03-30", "01:00", "02:30"))  # ends in the gap
@example(sunday_case("Europe/Oslo", "2025-03-30", "02:30", "04:00"))  # starts in it
@example(sunday_case("America/Santiago", "2025-09-07", "20:00", "24:00", "sat"))  # gap at 24:00
@example(sunday_case("America/Santiago", "2025-04-06", "23:30", "24:00", "sat"))  # repeat at 23-24
@example(sunday_case("Australia/Lord_Howe", "2025-10-05", "02:00", "02:15"))  # half-hour gap
def test_in_effect_flips_exactly_where_changes_says(case: Case) -> None:
    window = Window.from_data(case.data)
    reference = Reference(case)
    until = case.after + RANGE
    expected: list[tuple[datetime, bool]] = []
    was = reference.in_effect(case.after)
    assert in_effect(window, case.after) == was
    t = case.after
    while t < until:
        t += MINUTE
        now = reference.in_effect(t)
        assert in_effect(window, t) == now, t
        if now != was:
            expected.append((t, now))
        was = now

    assert list(changes(window, case.after, until)) == expected
    for at, value in expected:
        assert in_effect(window, at) is value
        assert in_effect(window, at - TICK) is not value

    following = next_change(window, case.after)
    if expected:
        assert following == expected[0][0]
    else:
        assert following is None or following > until


@settings(max_examples=40, deadline=None)
@given(cases(), st.integers(0, int(RANGE / MINUTE)))
def test_period_end_and_next_start_are_the_next_flips(case: Case, minutes: int) -> None:
    window = Window.from_data(case.data)
    t = case.after + minutes * MINUTE
    flips = list(changes(window, t, t + timedelta(days=15)))
    if in_effect(window, t):
        end = period_end(window, t)
        assert end == (flips[0][0] if flips else end)
        assert flips == [] or flips[0][1] is False
        assert next_start(window, t) == t
    else:
        start = next_start(window, t)
        assert start == (flips[0][0] if flips else start)
        assert flips == [] or flips[0][1] is True
        assert period_end(window, t) == t
