"""One fleet's life, as commands: its people, chargers, shares, keys, invitations,
transfers and a forgotten driver, in an order every rule accepts.

Each function sends commands through the `Writer` and notes in the `Tally` what they
should leave behind, so a test can hold the read model against it (people and chargers
are registered by `world.World`). Invitees are people
of their own (never drivers), so a share comes either from the owner's UpdateUserAccess
or from one accepted invitation, and the tally need not model how the two combine.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from bench.fleet.world import Fleet, Person, World
from bench.fleet.writer import TOKEN_SECRET
from charger_access_client.commands import (
    AcceptInvitation,
    AddChargeKey,
    AddGroupMember,
    BlockChargeKey,
    CreateGroup,
    DeclineInvitation,
    ForgetUser,
    InviteUser,
    MoveChargerToGroup,
    RemoveChargeKey,
    RemoveGroupMember,
    RemoveUser,
    ResendInvitation,
    RevokeInvitation,
    TransferChargerOwnership,
    TransferChargerToUser,
    UnblockChargeKey,
    UpdateUserAccess,
)
from services.access.domain.invitation import Invitation
from services.common.tokens import invitation_token

MIN_CHARGERS = 50
MAX_CHARGERS = 5000
MAX_SHARES_IN_ONE_UPDATE = 1000
"""UpdateUserAccess takes at most this many chargers (the contract's limit)."""
MAX_INVITED_CHARGERS = 3
MAX_STAFF = 20
FATES = ("accepted", "accepted", "resent", "declined", "revoked", "expired")
"""What becomes of a fleet's invitations, in turn ("resent": sent again, then accepted)."""


def build_fleet(world: World, size: int) -> Fleet:
    w, t, rng = world.writer, world.tally, world.rng
    owner = world.person(phone=True)
    fleet = Fleet(world.new_id(), owner, [world.person() for _ in range(1 + size // 500)])
    w.run(owner.user_id, CreateGroup(group_id=fleet.group_id, name=f"Fleet {world.index}"))
    t.fleets += 1
    t.fleet_members += 1 + len(fleet.admins)
    for admin in fleet.admins:
        w.run(owner.user_id, AddGroupMember(group_id=fleet.group_id, user_id=admin.user_id,
                                            role="admin"))
    managers = [owner, *fleet.admins]
    moved = max(1, size // 100)
    for _ in range(size - moved):
        fleet.chargers.append(world.charger(rng.choice(managers), fleet.group_id))
    for _ in range(moved):  # bought first, then brought into the fleet
        charger_id = world.charger(owner, None)
        w.run(owner.user_id, MoveChargerToGroup(charger_id=charger_id, group_id=fleet.group_id))
        t.charger_group[charger_id] = fleet.group_id
        t.transfers["MoveChargerToGroup"] += 1
        fleet.chargers.append(charger_id)
    fleet.spare = fleet.chargers[-max(1, size // 200):]
    for _ in range(max(2, size // 2)):
        fleet.drivers.append(world.person(phone=rng.random() < 0.3, name=rng.random() < 0.8))
    for driver in fleet.drivers[:staff_size(size)]:
        w.run(rng.choice(managers).user_id, AddGroupMember(
            group_id=fleet.group_id, user_id=driver.user_id, role="member"))
        fleet.staff.add(driver.user_id)
    t.fleet_members += len(fleet.staff)
    return fleet


def staff_size(chargers: int) -> int:
    """How many drivers are members of the fleet's group (may charge on every one of
    its chargers); the others charge where they are shared. Bounded: a member's card is
    on every charger's local list, so members times chargers is what a group's lists
    cost, and a fleet of drivers who were all members (as the first generator had it)
    made that quadratic, a million list entries for a fleet of 1 500 chargers, far past
    the issue's "10 M events and 1 M grants"."""
    return max(2, min(MAX_STAFF, chargers // 100))


def share(world: World, fleet: Fleet) -> None:
    """Each driver's chargers (a few, often the popular ones), set by the owner: the first
    driver has a great many, the first charger is shared with a fifth of the drivers;
    later some drivers' lists change."""
    rng = world.rng
    popular = fleet.chargers[:max(1, len(fleet.chargers) // 20)]
    for index, driver in enumerate(fleet.drivers):
        if index == 0:
            chosen = fleet.chargers[:MAX_SHARES_IN_ONE_UPDATE]
        else:
            count = min(len(fleet.chargers), rng.choice((1, 1, 2, 3, 5, 8)))
            chosen = rng.sample(fleet.chargers, count)
            if rng.random() < 0.5:
                chosen = list(dict.fromkeys([rng.choice(popular), *chosen]))
            if rng.random() < 0.2:
                chosen = list(dict.fromkeys([fleet.chargers[0], *chosen]))
        update(world, fleet, driver, chosen)
    for driver in fleet.drivers[1:]:
        if rng.random() < 0.1:
            update(world, fleet, driver, rng.sample(fleet.chargers, min(3, len(fleet.chargers))))


def update(world: World, fleet: Fleet, driver: Person, chargers: list[UUID]) -> None:
    """UpdateUserAccess by the owner: the driver's shares on the fleet become `chargers`."""
    rng = world.rng
    level = "manage" if rng.random() < 0.05 else "charge"
    window = world.window()
    world.writer.run(fleet.owner.user_id, UpdateUserAccess(
        user_id=driver.user_id, charger_ids=chargers, level=level, **window))
    world.tally.revoke_in_group(driver.user_id, fleet.group_id)
    for charger_id in chargers:
        world.tally.grant(charger_id, driver.user_id, level, bool(window))


def family(world: World, fleet: Fleet) -> None:
    """A few drivers share a charger of their own (in their personal group) with another."""
    w, rng, t = world.writer, world.rng, world.tally
    for driver in fleet.drivers[1:]:
        if rng.random() >= 0.05:
            continue
        charger_id = world.charger(driver, None)
        other = rng.choice(fleet.drivers)
        if other is driver:
            continue
        window = world.window()
        w.run(driver.user_id, UpdateUserAccess(user_id=other.user_id, charger_ids=[charger_id],
                                               **window))
        t.revoke_where_managed_by(driver.user_id, other.user_id)
        t.grant(charger_id, other.user_id, "charge", bool(window))


def keys(world: World, fleet: Fleet) -> None:
    """Cards handed out by an admin to the staff, and added by the other drivers
    themselves (an admin may add keys only for its group's members); some blocked (a few
    of them unblocked), some removed, by whoever added them."""
    w, rng, t = world.writer, world.rng, world.tally
    for driver in fleet.drivers:
        if rng.random() >= 0.6:
            continue
        admin = fleet.admins[0] if driver.user_id in fleet.staff else driver
        for _ in range(rng.choice((1, 1, 2))):
            world.tokens += 1
            key_id = world.new_id()
            w.run(admin.user_id, AddChargeKey(key_id=key_id, user_id=driver.user_id,
                                              id_token=f"FLEET{world.index:05X}{world.tokens:06X}",
                                              label=f"Card {world.tokens}"))
            t.add_key(driver.user_id, key_id)
            # Every fate in every fleet: its first keys are blocked/unblocked/removed.
            fate = [0.0, 0.05, 0.12][world.tokens - 1] if world.tokens <= 3 else rng.random()
            if fate < 0.1:
                w.run(admin.user_id, BlockChargeKey(key_id=key_id))
                t.keys[key_id] = True
                if fate < 0.04:
                    w.run(admin.user_id, UnblockChargeKey(key_id=key_id))
                    t.keys[key_id] = False
            elif fate < 0.15:
                w.run(admin.user_id, RemoveChargeKey(key_id=key_id))
                t.remove_key(driver.user_id, key_id)


def invite(world: World, fleet: Fleet) -> None:
    """Invitations to people outside the fleet, each with its fate: accepted (some after
    being sent again), declined, revoked, or left to expire."""
    w, rng, t = world.writer, world.rng, world.tally
    invitable = fleet.chargers[:len(fleet.chargers) - len(fleet.spare)]
    first = rng.randrange(len(FATES))
    for n in range(max(len(FATES), len(fleet.chargers) // 10)):
        fate = FATES[(first + n) % len(FATES)]  # every fate in every fleet
        invitee = world.person() if fate in ("accepted", "resent", "declined") else None
        email = invitee.email if invitee else world.address()
        invitation_id = world.new_id()
        chargers = rng.sample(invitable, min(len(invitable), rng.randint(1, MAX_INVITED_CHARGERS)))
        level = "manage" if rng.random() < 0.05 else "charge"
        window = world.window()
        inviter = rng.choice([fleet.owner, *fleet.admins])
        w.run(inviter.user_id, InviteUser(invitation_id=invitation_id, email=email,
                                          charger_ids=chargers, level=level, **window))
        t.invitations[invitation_id] = "expired"
        if fate == "revoked":
            w.run(fleet.owner.user_id, RevokeInvitation(invitation_id=invitation_id))
            t.invitations[invitation_id] = "revoked"
        elif invitee is not None:
            answer = _answer(world, invitation_id, invitee, fate, chargers, level, bool(window))
            if fate == "resent":
                w.after_commit(_resend(world, inviter, invitation_id, answer))
            else:
                w.after_commit(answer)


def _answer(world: World, invitation_id: UUID, invitee: Person, fate: str,
            chargers: list[UUID], level: str, timed: bool) -> Callable[[], None]:
    def answer() -> None:
        found = world.writer.state(invitation_id)
        assert isinstance(found, Invitation)
        token = invitation_token(TOKEN_SECRET, invitation_id, found.token_salt)
        if fate == "declined":
            world.writer.run(invitee.user_id, DeclineInvitation(invitation_id=invitation_id,
                                                                token=token))
            world.tally.invitations[invitation_id] = "declined"
            return
        world.writer.run(invitee.user_id, AcceptInvitation(invitation_id=invitation_id,
                                                            token=token))
        world.tally.invitations[invitation_id] = "accepted"
        for charger_id in chargers:
            world.tally.grant(charger_id, invitee.user_id, level, timed)
    return answer


def _resend(world: World, inviter: Person, invitation_id: UUID,
            then: Callable[[], None]) -> Callable[[], None]:
    def resend() -> None:
        world.writer.run(inviter.user_id, ResendInvitation(invitation_id=invitation_id))
        world.writer.after_commit(then)
    return resend


def change_hands(world: World, fleet: Fleet) -> None:
    """Drivers removed (their shares), some members leaving the group, chargers handed to
    an admin, the spare chargers given to drivers (their shares end), and one driver
    forgotten."""
    w, rng, t = world.writer, world.rng, world.tally
    owner = fleet.owner
    drivers = fleet.drivers[1:]  # the first keeps its many shares
    removed = rng.sample(drivers, max(1, len(drivers) // 50))
    for driver in removed:
        w.run(owner.user_id, RemoveUser(user_id=driver.user_id))
        t.revoke_in_group(driver.user_id, fleet.group_id)
    members = [d for d in drivers if d.user_id in fleet.staff]
    for driver in rng.sample(members, max(1, len(members) // 4)):
        w.run(owner.user_id, RemoveGroupMember(group_id=fleet.group_id, user_id=driver.user_id))
        fleet.staff.discard(driver.user_id)
        t.fleet_members -= 1
    admin = fleet.admins[-1]
    theirs = [c for c in fleet.chargers[:-len(fleet.spare)]
              if t.charger_owner[c] != admin.user_id]
    for charger_id in rng.sample(theirs, min(2, len(theirs))):
        w.run(owner.user_id, TransferChargerOwnership(charger_id=charger_id,
                                                      new_owner_id=admin.user_id))
        t.charger_owner[charger_id] = admin.user_id
        t.transfers["TransferChargerOwnership"] += 1
    keeping = [d for d in drivers if d not in removed]
    recipients = rng.sample(keeping, min(len(fleet.spare), len(keeping) - 1))
    for charger_id, recipient in zip(fleet.spare, recipients, strict=False):
        by_phone = recipient.phone is not None and rng.random() < 0.5
        w.run(owner.user_id, TransferChargerToUser(
            charger_id=charger_id, keep_connection=False,
            recipient_email=None if by_phone else recipient.email,
            recipient_phone=recipient.phone if by_phone else None))
        t.revoke_all_on(charger_id)
        t.charger_group[charger_id] = recipient.user_id
        t.charger_owner[charger_id] = recipient.user_id
        t.transfers["TransferChargerToUser"] += 1
    forgotten = rng.choice([d for d in keeping if d not in recipients])
    w.run(forgotten.user_id, ForgetUser(user_id=forgotten.user_id))
    t.forgotten.add(forgotten.user_id)
    for key_id in list(t.keys_of.get(forgotten.user_id, [])):
        t.remove_key(forgotten.user_id, key_id)


def pending_invitation(world: World, owner_id: UUID, charger_id: UUID) -> UUID:
    """An invitation sent in the history's last days: still pending when it ends."""
    invitation_id = world.new_id()
    world.writer.run(owner_id, InviteUser(
        invitation_id=invitation_id, email=world.address(), charger_ids=[charger_id]))
    world.tally.invitations[invitation_id] = "pending"
    return invitation_id
