"""What a timeline takes in, and the sentences it says."""

from __future__ import annotations

from services.access.audit.timeline import Subject, mentions, timeline
from tests.unit.access.scenario import Scenario


def test_an_invitation_names_its_chargers_its_invitation_its_inviter_and_the_address():
    s = Scenario()
    owner = s.user(name="Kari")
    charger = s.charger(owner, name="Garasje")
    invitation, _ = s.invite(owner, "Ola@Example.no", [charger])
    found = mentions(s.events[-1])
    assert found.ids["charger"] == {str(charger)}
    assert found.ids["invitation"] == {str(invitation)}
    assert str(owner) in found.ids["user"]
    assert found.emails >= {"ola@example.no"}


def test_a_revoked_invitation_stays_on_the_timeline_of_its_charger():
    s = Scenario()
    owner = s.user(name="Kari")
    charger = s.charger(owner, name="Garasje")
    invitation, _ = s.invite(owner, "ola@example.no", [charger])
    s.ok("RevokeInvitation", owner, invitation_id=invitation)
    entries = timeline(Subject("charger", str(charger)), s.published_since(0))
    assert [e.sentence for e in entries] == [
        "Kari registered charger Garasje (" + entries[0].sentence.split("(")[1],
        "Kari invited ola@example.no to Garasje (charge)",
        "Kari revoked the invitation to ola@example.no",
    ]


def test_a_personal_groups_timeline_is_not_its_users():
    s = Scenario()
    owner, guest = s.user(name="Kari"), s.user(name="Ola")
    charger = s.charger(owner, name="Garasje")
    s.share(owner, guest, [charger])
    group = [e.type for e in timeline(Subject("group", str(guest)), s.published_since(0))]
    user = [e.type for e in timeline(Subject("user", str(guest)), s.published_since(0))]
    assert group == ["GroupCreated"]
    assert "AccessGranted" in user


def test_sentences_name_people_by_name_and_fall_back_to_short_ids():
    s = Scenario()
    owner, heir = s.user(name="Kari"), s.user(name="Eva")
    charger = s.charger(owner, name="Garasje")
    s.ok("TransferChargerToUser", owner, charger_id=charger, recipient_email=s.emails[heir],
         keep_connection=True)
    entries = timeline(Subject("charger", str(charger)), s.published_since(0))
    assert entries[-1].sentence == "Kari gave Garasje to Eva (connection kept)"
    assert entries[-1].actor_name == "Kari"
