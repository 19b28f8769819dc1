"""Charge keys on a user's timeline: named by type and key id, never by token or label
(both personal data)."""

from __future__ import annotations

from uuid import uuid4

from services.access.audit.timeline import Subject, timeline
from services.access.domain.pseudonyms import pseudonymous_name
from tests.unit.access.scenario import Scenario


def test_key_events_are_sentences_that_never_show_the_token() -> None:
    s = Scenario()
    owner, driver = s.user(name="Kari"), s.user(name="Ola")
    s.group(owner, members=[driver])
    card, code = uuid4(), uuid4()
    s.ok("AddChargeKey", owner, key_id=card, user_id=driver, id_token="04a2b3c4",
         label="Ola's card")
    s.ok("AddChargeKey", driver, key_id=code, user_id=driver, id_token="1234", type="KeyCode")
    s.ok("BlockChargeKey", owner, key_id=card)
    s.ok("UnblockChargeKey", driver, key_id=card)
    s.ok("RemoveChargeKey", driver, key_id=code)
    s.ok("ForgetUser", driver, user_id=driver)
    sentences = [e.sentence for e in timeline(Subject("user", str(driver)), s.published_since(0))
                 if e.type.startswith("ChargeKey")]
    c, k = str(card)[:8], str(code)[:8]
    ola = pseudonymous_name(driver)  # forgotten: the whole log reads them so
    assert sentences == [
        f"Kari added ISO14443 key {c} for {ola}",
        f"{ola} added KeyCode key {k} for {ola}",
        f"Kari blocked ISO14443 key {c} of {ola}",
        f"{ola} unblocked ISO14443 key {c} of {ola}",
        f"{ola} removed KeyCode key {k} of {ola}",
        f"ISO14443 key {c} of {ola} was removed: its user was forgotten",
    ]
    assert not any("04A2B3C4" in x or "1234" in x or "card" in x for x in sentences)
