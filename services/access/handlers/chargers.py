"""RegisterCharger: a charger in a group the actor administers, with a unique serial."""

from __future__ import annotations

from charger_access_client.commands import RegisterCharger
from services.access.domain.charger import Charger
from services.access.domain.errors import Rejected
from services.access.domain.ids import serial_index_id
from services.access.domain.uniqueness import Claim
from services.access.handlers import lookup
from services.access.handlers.context import Context


def register_charger(ctx: Context, cmd: RegisterCharger) -> str:
    lookup.actor(ctx)
    lookup.require_new(ctx, cmd.charger_id, "charger")
    group_id = cmd.group_id or ctx.actor
    group = lookup.group(ctx, group_id)
    if not group.is_admin(ctx.actor):
        raise Rejected("forbidden", "you are not owner or admin of that group")
    if ctx.uow.exists(serial_index_id(cmd.serial_number)):
        raise Rejected("serial_taken", f"serial number {cmd.serial_number} is registered")
    ctx.uow.add(Claim.open(serial_index_id(cmd.serial_number), "serial", cmd.serial_number,
                           cmd.charger_id, ctx.cause))
    ctx.uow.add(Charger.register(cmd.charger_id, cmd.serial_number, cmd.name, group_id,
                                 ctx.actor, ctx.cause))
    return f"charger {cmd.charger_id} registered"
