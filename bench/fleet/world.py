"""A fleet's world: its people and chargers as they are registered, its own random
numbers and the windows its shares get (from the seed and the fleet's number only, so
fleets can be written in any order, or side by side)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from bench.fleet.tally import Tally
from bench.fleet.writer import Writer
from charger_access_client.commands import RegisterCharger, RegisterUser

NOTICE_ROOM = timedelta(hours=25)
"""A share's window ends at least this long after the history (and after its start): its
ending notice (`SHARE_ENDING_NOTICE_HOURS`, 24 by default) is then due after the history
too, not inside it."""
LOCALES = ("en", "nb", "fr")

@dataclass
class Person:
    user_id: UUID
    email: str
    phone: str | None


@dataclass
class Fleet:
    group_id: UUID
    owner: Person
    admins: list[Person]
    chargers: list[UUID] = field(default_factory=list)
    drivers: list[Person] = field(default_factory=list)
    staff: set[UUID] = field(default_factory=set)
    """The drivers who are members of the fleet's group (`staff_size`)."""
    spare: list[UUID] = field(default_factory=list)
    """Chargers given away at the end: never invited to."""


@dataclass
class World:
    """One fleet's story: its own random numbers, names and clock (from the seed and the
    fleet's number only), so fleets can be written in any order, or side by side."""

    writer: Writer
    tally: Tally
    ends_at: datetime
    index: int
    rng: random.Random
    people: int = 0
    serials: int = 0
    tokens: int = 0

    def new_id(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)

    def person(self, *, phone: bool = False, name: bool = True) -> Person:
        """Register a new user (and their personal group)."""
        self.people += 1
        n = self.people
        person = Person(self.new_id(), f"driver{n}.f{self.index}@fleet.example",
                        f"+47{self.index:05d}{n:06d}" if phone else None)
        self.writer.run(person.user_id, RegisterUser(
            user_id=person.user_id, email=person.email, phone=person.phone,
            name=f"Driver {n}" if name else None,
            locale=self.rng.choice(LOCALES)))
        self.tally.users += 1
        return person

    def address(self) -> str:
        """An e-mail address nobody registered."""
        self.people += 1
        return f"invitee{self.people}.f{self.index}@fleet.example"

    def charger(self, actor: Person, group_id: UUID | None) -> UUID:
        self.serials += 1
        charger_id = self.new_id()
        self.writer.run(actor.user_id, RegisterCharger(
            charger_id=charger_id, serial_number=f"FLT-{self.index}-{self.serials}",
            name=f"Charger {self.index}-{self.serials}", group_id=group_id))
        self.tally.chargers += 1
        self.tally.charger_group[charger_id] = group_id or actor.user_id
        self.tally.charger_owner[charger_id] = actor.user_id
        return charger_id

    def window(self) -> dict[str, datetime]:
        """No window (half the shares), one ending after the history, or one starting
        after it: no boundary or ending notice falls inside the history, where the
        scheduler would have appended it (its events are the scheduler's to write, not a
        command's).

        Their times are spread to the minute from just after the history's end, as a live
        fleet's are: the scheduler's next day holds some (~2 % of the time-bound shares:
        starts within 20 days, ends within a year), so a start, its timetable and its
        appends have work at fleet scale. Ends come at least `NOTICE_ROOM` after the end,
        so an ending notice of up to a day is due after it too."""
        rng, end = self.rng, self.ends_at
        kind = rng.random()
        if kind < 0.5:
            return {}
        if kind < 0.8:
            return {"valid_until": end + _minutes(rng, NOTICE_ROOM, timedelta(days=365))}
        starts = end + _minutes(rng, timedelta(minutes=10), timedelta(days=20))
        return {"valid_from": starts,
                "valid_until": starts + _minutes(rng, NOTICE_ROOM, timedelta(days=365))}


def _minutes(rng: random.Random, low: timedelta, high: timedelta) -> timedelta:
    """A whole number of minutes between `low` and `high`, uniformly."""
    return timedelta(minutes=rng.randint(low // timedelta(minutes=1), high // timedelta(minutes=1)))
