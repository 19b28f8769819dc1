from __future__ import annotations

from uuid import uuid4

import pytest

from charger_access_client.access_events import (
    ChargerOwnershipTransferred,
    ChargerRegistered,
    ChargerTransferredToUser,
    InvitationResent,
    InvitationRevoked,
    UserAccessChanged,
    UserAccessRemoved,
)
from services.notifications.mail.recipients import UnknownEventError, notifications_for
from tests.unit.notifications.factories import charger, envelope, invited, person


def test_invitation_goes_to_the_invited_address_in_the_invitation_locale() -> None:
    event = invited(email="Ola@Example.NO", locale="nb")
    [notification] = notifications_for(envelope(event))
    assert notification.kind == "invitation"
    assert notification.to.email == "Ola@Example.NO"
    assert notification.to.locale == "nb"
    assert notification.recipient == "ola@example.no"


def test_resent_invitation_is_an_invitation_again() -> None:
    event = InvitationResent(**invited(locale="fr").model_dump())
    [notification] = notifications_for(envelope(event))
    assert (notification.kind, notification.to.locale) == ("invitation", "fr")


def test_revoked_invitation_goes_to_the_invited_address() -> None:
    event = InvitationRevoked(invitation_id=uuid4(), email="x@example.com", locale="fr")
    [notification] = notifications_for(envelope(event))
    assert (notification.kind, notification.recipient, notification.to.locale) == (
        "invitation_revoked",
        "x@example.com",
        "fr",
    )


def test_access_changed_and_removed_go_to_the_user_in_their_locale() -> None:
    user = person("ola@example.no", "Ola", "nb")
    changed = UserAccessChanged(
        user=user, changed_by=person(), chargers=[charger()], level="charge"
    )
    removed = UserAccessRemoved(user=user, removed_by=person(), chargers=[charger()])
    assert [(n.kind, n.to) for n in notifications_for(envelope(changed))] == [
        ("access_changed", user)
    ]
    assert [(n.kind, n.to) for n in notifications_for(envelope(removed))] == [
        ("access_removed", user)
    ]


def test_transfer_to_user_tells_both_the_new_and_the_old_owner() -> None:
    old, new = person("old@example.no", locale="nb"), person("new@example.fr", locale="fr")
    ref = charger()
    event = ChargerTransferredToUser(
        charger_id=ref.charger_id,
        charger=ref,
        from_owner=old,
        to_user=new,
        from_group_id=uuid4(),
        to_group_id=uuid4(),
        connected=False,
    )
    result = {(n.kind, n.recipient, n.to.locale) for n in notifications_for(envelope(event))}
    assert result == {
        ("charger_transferred_to_you", "new@example.fr", "fr"),
        ("charger_transferred_from_you", "old@example.no", "nb"),
    }


def test_ownership_transfer_tells_the_new_owner() -> None:
    ref = charger()
    event = ChargerOwnershipTransferred(
        charger_id=ref.charger_id, charger=ref, from_owner_id=uuid4(), to_owner=person("n@e.no")
    )
    assert [(n.kind, n.recipient) for n in notifications_for(envelope(event))] == [
        ("ownership_transferred", "n@e.no")
    ]


def test_one_email_per_address_even_if_an_event_names_it_twice() -> None:
    ref = charger()
    same = person("Same@Example.no")
    event = ChargerTransferredToUser(
        charger_id=ref.charger_id,
        charger=ref,
        from_owner=same,
        to_user=same.model_copy(update={"email": "same@example.NO"}),
        from_group_id=uuid4(),
        to_group_id=uuid4(),
        connected=True,
    )
    assert len(notifications_for(envelope(event))) == 1


def test_events_without_an_email_cause_none() -> None:
    event = ChargerRegistered(
        charger_id=uuid4(), serial_number="S", group_id=uuid4(), owner_id=uuid4()
    )
    assert notifications_for(envelope(event)) == []


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(UnknownEventError):
        notifications_for(envelope(invited(), type_name="SomethingNew"))
