"""The SQL of the query API: one repository per read model, no SQL in the routes."""

from services.access.api.repositories.access import AccessRepository
from services.access.api.repositories.charge_keys import ChargeKeyRepository
from services.access.api.repositories.chargers import ChargerRepository
from services.access.api.repositories.groups import GroupRepository
from services.access.api.repositories.invitations import InvitationRepository
from services.access.api.repositories.local_lists import LocalListRepository

__all__ = ["AccessRepository", "ChargeKeyRepository", "ChargerRepository", "GroupRepository",
           "InvitationRepository", "LocalListRepository"]
