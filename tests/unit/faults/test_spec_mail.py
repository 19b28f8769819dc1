"""The fault suite's e-mail books: expected e-mails come from the command ledger by SPEC's
rules (not from the service's code), received ones from what each e-mail carries, and
the comparison catches a recipient the service dropped and an e-mail sent twice."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message

from charger_access_client.access_events import UserInvited
from faults.conservation import Ledger, check_emails
from faults.spec_mail import Command, Mail, command_of, expected_mail, received_mail
from services.notifications.mail import examples
from services.notifications.mail.message import address, build_message
from services.notifications.mail.recipients import notifications_for
from services.notifications.mail.render import LinkSettings, Renderer
from tests.unit.notifications.factories import envelope


def invite(invitation: str, email: str, status: str | None = "accepted") -> Command:
    return Command(
        "InviteUser",
        {"invitation_id": invitation, "email": email, "charger_ids": [str(uuid.uuid4())]},
        status,
    )


def invitation_email(
    invitation: str,
    to: str,
    subject: str = "Ann has shared a charger with you",
) -> Message:
    message = Message()
    message["Subject"] = subject
    message["X-Envelope-To"] = to
    message.set_payload(
        f"Accept here:\nhttps://x.example/invitations/{invitation}/accept?token=t\n"
    )
    return message


def test_spec_rules_from_the_ledger() -> None:
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    want, unmodelled = expected_mail(
        [
            invite(a, "Guest-A@Example.com"),
            invite(b, "b@example.com", status="rejected"),
            invite(c, "c@example.com", status=None),  # no result: causes nothing (yet)
            Command("ResendInvitation", {"invitation_id": a}, "accepted"),
            Command("RevokeInvitation", {"invitation_id": a}, "accepted"),
            Command("RegisterUser", {"user_id": a, "email": "x@example.com"}, "accepted"),
            Command("UpdateUserAccess", {"user_id": a, "charger_ids": []}, "accepted"),
        ]
    )
    assert want == Counter(
        {
            Mail("invitation", "guest-a@example.com", a): 1,
            Mail("invitation_reminder", "guest-a@example.com", a): 1,
            Mail("invitation_revoked", "guest-a@example.com", ""): 1,
        }
    )
    assert unmodelled == 1  # UpdateUserAccess mails, but is not modelled: the check says so


def test_received_side_names_an_email_by_recipient_kind_and_invitation() -> None:
    a = str(uuid.uuid4())
    got = received_mail(
        [
            invitation_email(a, "Guest@Example.com"),
            invitation_email(
                a, "guest@example.com", subject="Reminder: Ann has shared a charger with you"
            ),
        ]
    )
    assert got == Counter(
        {
            Mail("invitation", "guest@example.com", a): 1,
            Mail("invitation_reminder", "guest@example.com", a): 1,
        }
    )


def test_a_dropped_recipient_and_a_duplicate_are_caught() -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    want, _ = expected_mail([invite(a, "a@example.com"), invite(b, "b@example.com")])
    # the service dropped b's e-mail and sent a's twice
    got = received_mail(
        [invitation_email(a, "a@example.com"), invitation_email(a, "a@example.com")]
    )
    ledger = Ledger()
    check_emails(ledger, want, got)
    assert ledger.lost == Counter({"emails": 1})
    assert ledger.duplicates == Counter({"emails": 1})
    assert ledger.samples["email_not_received"] == [str(Mail("invitation", "b@example.com", b))]

    exact = Ledger()
    check_emails(
        exact,
        want,
        got
        - Counter({Mail("invitation", "a@example.com", a): 1})
        + Counter({Mail("invitation", "b@example.com", b): 1}),
    )
    assert exact.total("lost") == exact.total("duplicates") == 0


def test_command_of_reads_both_bindings_and_skips_poison() -> None:
    data = {"invitation_id": "i", "email": "e@example.com"}
    structured = json.dumps({"id": "1", "type": "InviteUser", "data": data}).encode()
    assert command_of(structured, None, "accepted") == Command("InviteUser", data, "accepted")
    binary = command_of(json.dumps(data).encode(), [("ce_type", b"InviteUser")], "rejected")
    assert binary == Command("InviteUser", data, "rejected")
    assert command_of(b"\xff not json", None, None) is None


def test_received_side_reads_what_the_service_really_sends() -> None:
    """The parsing of the sink's side against an e-mail rendered and built by the
    notification service itself (its wording, encoding and link), so the fault suite
    does not silently find nothing."""
    invitation = uuid.UUID(int=20)
    event = next(e for e in examples._events("en") if isinstance(e, UserInvited))
    [notification] = notifications_for(envelope(event))
    rendered = Renderer(LinkSettings("https://app.example.com", b"secret")).render(notification)
    outgoing = build_message(
        rendered,
        sender=address("no-reply@example.com"),
        to=address("invitee@example.com"),
        msg_id="<1@charger-access>",
        date=datetime(2026, 1, 1, tzinfo=UTC),
        locale="en",
    )
    message = message_from_bytes(outgoing.data)
    message["X-Envelope-To"] = "invitee@example.com"
    assert received_mail([message]) == Counter(
        {Mail("invitation", "invitee@example.com", str(invitation)): 1}
    )


def test_access_changed_is_expected_only_where_the_share_is_certainly_new() -> None:
    user, invited_user, charger, shared = (str(uuid.uuid4()) for _ in range(4))
    want, unmodelled = expected_mail(
        [
            Command("RegisterUser", {"user_id": user, "email": "Guest@Example.com"}, "accepted"),
            Command("RegisterUser", {"user_id": invited_user, "email": "i@example.com"},
                    "accepted"),
            Command("RegisterCharger", {"charger_id": charger}, "accepted"),
            Command("RegisterCharger", {"charger_id": shared}, "accepted"),
            invite(str(uuid.uuid4()), "i@example.com"),
            # a fresh user, a fresh charger: one e-mail
            Command("UpdateUserAccess", {"user_id": user, "charger_ids": [charger]}, "accepted"),
            # the same charger again: it may change nothing, so no e-mail is certain
            Command("UpdateUserAccess", {"user_id": user, "charger_ids": [charger]}, "accepted"),
            # an invited user may hold shares the command revokes (another e-mail)
            Command("UpdateUserAccess", {"user_id": invited_user, "charger_ids": [shared]},
                    "accepted"),
        ]
    )
    assert want[Mail("access_changed", "guest@example.com", "")] == 1
    assert Mail("access_changed", "i@example.com", "") not in want
    assert unmodelled == 2


def test_the_access_changed_subject_is_recognised() -> None:
    message = Message()
    message["Subject"] = "Ann Owner has changed your access to chargers"
    message["X-Envelope-To"] = "guest@example.com"
    message.set_payload("Your access changed.\n")
    assert received_mail([message]) == Counter({Mail("access_changed", "guest@example.com", ""): 1})
