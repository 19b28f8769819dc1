"""The unit of work's copies: what a command changes stays in its copy until accepted."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from uuid import uuid4

from services.access.domain.charger import Charger
from services.access.domain.invitation import Invitation
from services.access.domain.user import User
from services.access.handlers.unit_of_work import copy_aggregate
from tests.unit.access.scenario import Scenario


@dataclass
class Mutable:
    values: list[int]


def test_a_copy_equals_what_deepcopy_makes_and_shares_no_container(s: Scenario) -> None:
    owner, guest = s.user(), s.user()
    charger = s.charger(owner)
    invitation, _ = s.invite(owner, "someone@example.no", [charger])
    s.share(owner, guest, [charger])
    for aggregate_id, kind in ((charger, Charger), (owner, User), (invitation, Invitation)):
        original = s.store.load(aggregate_id)
        assert isinstance(original, kind)
        copied = copy_aggregate(original)
        assert type(copied) is kind
        assert vars(copied) == vars(copy.deepcopy(original)) == vars(original)
        for name, value in vars(original).items():
            if isinstance(value, dict | list | set):
                assert vars(copied)[name] is not value, name


def test_changing_a_copy_leaves_the_original_alone(s: Scenario) -> None:
    owner = s.user()
    charger = s.store.load(s.charger(owner))
    assert isinstance(charger, Charger)
    before = copy.deepcopy(vars(charger))
    copied = copy_aggregate(charger)
    copied.shares[str(uuid4())] = "charge"
    copied.pending_invitations[str(uuid4())] = True
    copied.name = "changed"
    assert vars(charger) == before


def test_values_of_other_kinds_are_deep_copied(s: Scenario) -> None:
    owner = s.user()
    charger = s.store.load(s.charger(owner))
    assert isinstance(charger, Charger)
    charger.__dict__["extra"] = Mutable([1, 2])
    copied = copy_aggregate(charger)
    copied.__dict__["extra"].values.append(3)
    assert charger.__dict__["extra"].values == [1, 2]
