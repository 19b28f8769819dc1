"""Every command by every kind of actor, against the handlers, from SPEC's rule table.

`RULES` is SPEC's table ("rule (else rejected with the reason code)") written as data:
for each command, the actor roles the rule admits and the reason code everyone else gets.
The test is generated from it: one case per command and role, each in a world of its own
(in-memory store) where the roles are, relative to charger X in group G:

- charger_owner: registered X in G (so also an admin of G); group_owner: owns G;
  admin: another admin of G; member: a member of G (`charge` on X);
- share_charge / share_manage: a share on X with that level (an accepted invitation);
- key_holder: a member of G who has a charge key (the key the key commands act on);
- stranger: registered, nothing to do with X or G; forgotten: registered, then forgot
  themselves (ForgetUser); operator: one of OPERATOR_IDS, nothing else.

A role a rule does not name is refused; a role it names is accepted — so a rule that lets
too many through, or too few, fails here by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.access.executor import Executor
from services.access.handlers.context import Rules
from tests.unit.access.scenario import SECRET, Cmd, Scenario

ROLES = ("charger_owner", "group_owner", "admin", "member", "share_charge", "share_manage",
         "key_holder", "stranger", "forgotten", "operator")
GROUP_ADMINS = {"charger_owner", "group_owner", "admin"}
MANAGERS_OF_X = GROUP_ADMINS | {"share_manage"}
EVERYONE = set(ROLES)


@dataclass
class World:
    s: Scenario
    roles: dict[str, UUID]
    group: UUID
    other_group: UUID
    charger: UUID
    key: UUID
    target: UUID
    """A user with a `charge` share on X, acted upon (UpdateUserAccess, RemoveUser, ...)."""
    invitation: UUID
    invitation_token: str
    extra: dict[str, Any] = field(default_factory=dict)


def build() -> World:
    """The world, in three batches (each must be wholly accepted): users; groups, the
    charger, a key and the invitations; the acceptances and the forgetting."""
    s = Scenario()
    people = [*ROLES, "target", "invitee"]
    ids = {name: uuid4() for name in people}
    for name, user_id in ids.items():
        s.emails[user_id] = f"{name}-{user_id.hex[:8]}@example.com"
    _all_ok(s, [Cmd("RegisterUser", user_id, {"user_id": user_id, "email": s.emails[user_id]})
                for user_id in ids.values()])
    roles = {role: ids[role] for role in ROLES}
    target, invitee = ids["target"], ids["invitee"]
    s.executor = Executor(s.store, Rules(SECRET, operators=frozenset({str(roles["operator"])})),
                          clock=lambda: s.now)
    group, other_group, charger, key = uuid4(), uuid4(), uuid4(), uuid4()
    owner, charger_owner = roles["group_owner"], roles["charger_owner"]
    invitations = {name: uuid4() for name in ("share_charge", "share_manage", "target",
                                              "invitee")}
    levels = {"share_manage": "manage"}

    def member(group_id: UUID, name: str, role: str) -> Cmd:
        return Cmd("AddGroupMember", owner, {"group_id": group_id, "user_id": roles[name],
                                             "role": role})

    _all_ok(s, [
        Cmd("CreateGroup", owner, {"group_id": group, "name": "Fleet"}),
        member(group, "charger_owner", "admin"), member(group, "admin", "admin"),
        member(group, "member", "member"), member(group, "key_holder", "member"),
        Cmd("RegisterCharger", charger_owner, {"charger_id": charger, "group_id": group,
                                               "serial_number": f"WB-X{charger.hex[:8]}"}),
        # A second group for MoveChargerToGroup: the admins of G and the member are its
        # admins, so the rule's two halves (manage on X, admin of the target group) are
        # both tested.
        Cmd("CreateGroup", owner, {"group_id": other_group, "name": "Other"}),
        member(other_group, "charger_owner", "admin"), member(other_group, "admin", "admin"),
        member(other_group, "member", "admin"),
        Cmd("AddChargeKey", roles["key_holder"], {"key_id": key, "user_id": roles["key_holder"],
                                                  "id_token": f"K{key.hex[:12]}"}),
        *[Cmd("InviteUser", charger_owner, {
            "invitation_id": invitation, "email": s.emails[ids[name]],
            "charger_ids": [charger], "level": levels.get(name, "charge")})
          for name, invitation in invitations.items()],
    ])
    tokens = {name: s.token(invitation) for name, invitation in invitations.items()}
    _all_ok(s, [
        *[Cmd("AcceptInvitation", ids[name], {"invitation_id": invitations[name],
                                              "token": tokens[name]})
          for name in ("share_charge", "share_manage", "target")],
        Cmd("ForgetUser", roles["forgotten"], {"user_id": roles["forgotten"]}),
    ])
    return World(s, roles, group, other_group, charger, key, target, invitations["invitee"],
                 tokens["invitee"], {"invitee": invitee})


def _all_ok(s: Scenario, commands: list[Cmd]) -> None:
    results = s.batch(commands)
    assert all(r.status == "accepted" for r in results), results


@dataclass(frozen=True)
class Rule:
    spec: str
    """SPEC's words for who may."""
    allowed: set[str]
    refused_with: str
    data: Callable[[World], dict[str, Any]]
    setup: Callable[[World], None] | None = None
    independent: bool = False
    """Accepting it for one role changes nothing another role's case depends on (it only
    creates something new): the allowed roles may share one world."""


def _new_user(w: World) -> UUID:
    return w.s.user()


def _add_removable(w: World) -> None:
    removable = w.s.user()
    w.s.ok("AddGroupMember", w.roles["group_owner"], group_id=w.group, user_id=removable,
           role="member")
    w.extra["removable"] = removable


def _block_key(w: World) -> None:
    w.s.ok("BlockChargeKey", w.roles["key_holder"], key_id=w.key)


RULES: dict[str, Rule] = {
    "CreateGroup": Rule("actor becomes owner", EVERYONE, "forbidden",
                        lambda w: {"group_id": uuid4(), "name": "New"}, independent=True),
    "AddGroupMember": Rule("actor is owner/admin of the group", GROUP_ADMINS, "forbidden",
                           lambda w: {"group_id": w.group, "user_id": _new_user(w),
                                      "role": "member"}, independent=True),
    "RemoveGroupMember": Rule("actor is owner/admin", GROUP_ADMINS, "forbidden",
                              lambda w: {"group_id": w.group, "user_id": w.extra["removable"]},
                              setup=_add_removable),
    "RegisterCharger": Rule("actor owner/admin there", GROUP_ADMINS, "forbidden",
                            lambda w: {"charger_id": uuid4(), "group_id": w.group,
                                       "serial_number": f"WB-M{uuid4().hex[:8]}"},
                            independent=True),
    "InviteUser": Rule("actor has `manage` on every charger", MANAGERS_OF_X, "forbidden",
                       lambda w: {"invitation_id": uuid4(), "email": "new@example.com",
                                  "charger_ids": [w.charger]}, independent=True),
    "AcceptInvitation": Rule("actor's e-mail is the invited one", set(), "email_mismatch",
                             lambda w: {"invitation_id": w.invitation,
                                        "token": w.invitation_token}),
    "DeclineInvitation": Rule("as above", set(), "email_mismatch",
                              lambda w: {"invitation_id": w.invitation,
                                         "token": w.invitation_token}),
    "RevokeInvitation": Rule("actor is the inviter or has `manage` on all its chargers",
                             MANAGERS_OF_X, "forbidden",
                             lambda w: {"invitation_id": w.invitation}),
    "ResendInvitation": Rule("(as RevokeInvitation: the inviter or a manager of its chargers)",
                             MANAGERS_OF_X, "forbidden",
                             lambda w: {"invitation_id": w.invitation}),
    "UpdateUserAccess": Rule("`forbidden` if a listed one is not managed by actor",
                             MANAGERS_OF_X, "forbidden",
                             lambda w: {"user_id": w.target, "charger_ids": [w.charger],
                                        "level": "manage"}),
    "MoveChargerToGroup": Rule("actor has `manage` on the charger and is owner/admin of the "
                               "target group", GROUP_ADMINS, "forbidden",
                               lambda w: {"charger_id": w.charger,
                                          "group_id": w.other_group}),
    "TransferChargerOwnership": Rule("actor is the charger's owner or the group's owner",
                                     {"charger_owner", "group_owner"}, "forbidden",
                                     lambda w: {"charger_id": w.charger,
                                                "new_owner_id": w.roles["admin"]}),
    "TransferChargerToUser": Rule("actor is the charger's owner or the group's owner",
                                  {"charger_owner", "group_owner"}, "forbidden",
                                  lambda w: {"charger_id": w.charger,
                                             "recipient_email": w.s.emails[w.target],
                                             "keep_connection": False}),
    "AddChargeKey": Rule("actor is the user, or owner/admin of a group the user is a member "
                         "of", GROUP_ADMINS | {"key_holder"}, "forbidden",
                         lambda w: {"key_id": uuid4(), "user_id": w.roles["key_holder"],
                                    "id_token": f"N{uuid4().hex[:12]}"}, independent=True),
    "BlockChargeKey": Rule("same actors", GROUP_ADMINS | {"key_holder"}, "forbidden",
                           lambda w: {"key_id": w.key}),
    "UnblockChargeKey": Rule("same actors", GROUP_ADMINS | {"key_holder"}, "forbidden",
                             lambda w: {"key_id": w.key}, setup=_block_key),
    "RemoveChargeKey": Rule("same actors", GROUP_ADMINS | {"key_holder"}, "forbidden",
                            lambda w: {"key_id": w.key}),
    "ForgetUser": Rule("the user themselves or an operator", {"operator"}, "forbidden",
                       lambda w: {"user_id": w.target}),
}
"""RemoveUser is not here: it refuses no one (it revokes only what the actor manages);
`test_remove_user_revokes_only_what_the_actor_manages` covers it by its effect."""


def test_the_table_covers_every_command() -> None:
    from charger_access_client.commands import COMMAND_TYPES

    assert set(COMMAND_TYPES) - set(RULES) == {"RegisterUser", "RemoveUser"}


def _world(rule: Rule) -> World:
    w = build()
    if rule.setup is not None:
        rule.setup(w)
    return w


@pytest.mark.parametrize("command", sorted(RULES))
def test_authorization(command: str) -> None:
    """Every role refused is tried in one world (a refusal writes nothing); every role
    admitted in a world of its own, unless the command is independent."""
    rule = RULES[command]
    wrong: list[str] = []
    refused = _world(rule)
    shared = _world(rule) if rule.independent else None
    for role in ROLES:
        w = refused if role not in rule.allowed else shared or _world(rule)
        result = w.s.run(command, w.roles[role], **rule.data(w))
        expected = (("accepted", None) if role in rule.allowed
                    else ("rejected", rule.refused_with))
        if (result.status, result.reason) != expected:
            wrong.append(f"{role}: {result.status}/{result.reason} ({result.detail}), "
                         f"expected {expected[0]}/{expected[1]}")
    assert not wrong, f"{command} — SPEC: {rule.spec}\n" + "\n".join(wrong)


def test_remove_user_revokes_only_what_the_actor_manages() -> None:
    """Refuses no one; revokes the target's share on X only for a manager of X."""
    w = build()
    for role in sorted(EVERYONE - MANAGERS_OF_X):
        result = w.s.run("RemoveUser", w.roles[role], user_id=w.target)
        assert (result.status, result.reason) == ("accepted", None), (role, result)
        assert str(w.target) in w.s.shares(w.charger), role
    for role in sorted(MANAGERS_OF_X):
        w = build()
        result = w.s.run("RemoveUser", w.roles[role], user_id=w.target)
        assert (result.status, result.reason) == ("accepted", None), (role, result)
        assert str(w.target) not in w.s.shares(w.charger), role
