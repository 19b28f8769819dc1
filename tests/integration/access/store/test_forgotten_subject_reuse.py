"""An e-mail address whose person was forgotten, used again: what was sealed for the
forgotten person reads as forgotten, and what is sealed for the new one reads in full.

The e-mail's subject (its claim id) outlives a person: forgetting deletes its key, and a
later invitation to the same address must not seal under a new key that the old values
then fail to authenticate under (a `CorruptPersonalDataError` on every later load)."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from charger_access_client.commands import COMMAND_TYPES
from services.access.domain.ids import email_index_id
from services.access.domain.pseudonyms import pseudonym
from services.access.executor import Executor, Valid
from services.access.store.application import AccessStore
from tests.integration.access.store.test_races import RULES, register, run, store  # noqa: F401

pytestmark = pytest.mark.integration


def _invite(access: AccessStore, owner: uuid.UUID, charger: uuid.UUID, email: str) -> uuid.UUID:
    invitation = uuid.uuid4()
    result = run(Executor(access, RULES), "InviteUser", owner, invitation_id=str(invitation),
                 email=email, charger_ids=[str(charger)])
    assert result.status == "accepted", result
    return invitation


def test_an_address_invited_forgotten_and_invited_again_reads_old_as_forgotten_new_in_full(
    store: AccessStore, database_url: str,  # noqa: F811
) -> None:
    owner = register(store)
    charger = uuid.uuid4()
    assert run(Executor(store, RULES), "RegisterCharger", owner, charger_id=str(charger),
               serial_number=f"F-{charger.hex[:12]}").status == "accepted"
    person = uuid.uuid4()
    email = f"{person}@example.no"
    first = _invite(store, owner, charger, email)
    assert run(Executor(store, RULES), "RegisterUser", person, user_id=str(person),
               email=email).status == "accepted"
    assert run(Executor(store, RULES), "ForgetUser", person,
               user_id=str(person)).status == "accepted"

    second = _invite(store, owner, charger, email)
    third = _invite(store, owner, charger, email)  # loads the e-mail's claim again
    newcomer = uuid.uuid4()
    assert run(Executor(store, RULES), "RegisterUser", newcomer, user_id=str(newcomer),
               email=email).status == "accepted"
    moved = run(Executor(store, RULES), "TransferChargerToUser", owner,
                charger_id=str(charger), recipient_email=email, keep_connection=True)
    assert moved.status == "accepted", moved

    forgotten = pseudonym(email_index_id(email), "email")
    assert _email(store, first) == forgotten
    assert [_email(store, i) for i in (second, third)] == [email, email]

    # Forgetting the newcomer forgets what was sealed for the address since, too.
    assert run(Executor(store, RULES), "ForgetUser", newcomer,
               user_id=str(newcomer)).status == "accepted"
    assert _email(store, first) == forgotten
    sealed_under = [_sealed_subject(database_url, i) for i in (second, third)]
    assert email_index_id(email) not in sealed_under
    assert [_email(store, i) for i in (second, third)] == [
        pseudonym(subject, "email") for subject in sealed_under]


def test_commands_after_a_forget_in_the_same_batch_seal_under_the_new_key(
    store: AccessStore,  # noqa: F811
) -> None:
    owner = register(store)
    charger = uuid.uuid4()
    assert run(Executor(store, RULES), "RegisterCharger", owner, charger_id=str(charger),
               serial_number=f"G-{charger.hex[:12]}").status == "accepted"
    person = uuid.uuid4()
    email = f"{person}@example.no"
    before, after = uuid.uuid4(), uuid.uuid4()
    batch = [
        _valid(owner, "InviteUser", invitation_id=str(before), email=email,
               charger_ids=[str(charger)]),
        _valid(person, "RegisterUser", user_id=str(person), email=email),
        _valid(person, "ForgetUser", user_id=str(person)),
        _valid(owner, "InviteUser", invitation_id=str(after), email=email,
               charger_ids=[str(charger)]),
    ]
    results = Executor(store, RULES).execute(batch)
    assert [r.status for r in results] == ["accepted"] * 4
    assert _email(store, before) == pseudonym(email_index_id(email), "email")
    assert _email(store, after) == email


def _valid(actor: uuid.UUID, type_: str, **data: object) -> Valid:
    return Valid(str(uuid.uuid4()), actor, type_, COMMAND_TYPES[type_].model_validate(data))


def _sealed_subject(database_url: str, invitation_id: uuid.UUID) -> uuid.UUID:
    """The subject the invitation's e-mail is sealed under, read from the stored log."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT state FROM chargeraccess_events WHERE originator_id = %s"
                           " AND originator_version = 1", (invitation_id,)).fetchone()
    assert row is not None
    sealed = json.loads(bytes(row[0]))["email"]
    assert sealed.startswith("pii:v1:")
    return uuid.UUID(hex=sealed.split(":")[2])


def _email(access: AccessStore, invitation_id: uuid.UUID) -> str | None:
    loaded = access.load(invitation_id)
    assert loaded is not None
    return getattr(loaded, "email", None)
