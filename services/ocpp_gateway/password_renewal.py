"""Giving a charger its current password when it logged in with one a rotation replaced.

Passwords derive from `OCPP_AUTH_SECRET` (`credentials`). After a rotation the old
secret stays in `OCPP_AUTH_SECRET_PREVIOUS` so chargers still holding its passwords get in;
without this, each of them would have to be re-provisioned by hand before the old secret
could go. Under security profile 2 such a charger is sent its new password once it is
connected (OCPP 1.6: `ChangeConfiguration AuthorizationKey`; 2.0.1: `SetVariables
SecurityCtrlr.BasicAuthPassword`), and uses it from its next connection. Never under
profile 1: the password would cross the network in clear. Whatever the charger answers, the
connection goes on; one that refused is asked again at its next connection, and
`ocpp_gateway_password_renewals_total` says how many have moved.
"""

from __future__ import annotations

import logging
from uuid import UUID

from services.ocpp_gateway.dialects import Dialect
from services.ocpp_gateway.metrics import GatewayMetrics
from services.ocpp_gateway.rpc import CallRefused, OcppLink

log = logging.getLogger(__name__)

REFUSED = "CallError"
"""The status counted when the charger answered with a CALLERROR (`NotSupported`...)."""
NO_ANSWER = "NoAnswer"


async def renew_password(charger_id: UUID, link: OcppLink, dialect: Dialect, password: str,
                         metrics: GatewayMetrics) -> str:
    """Send the charger `password`; the status it answered (counted and logged)."""
    action, payload = dialect.password_request(password)
    try:
        status = detail = dialect.password_status(await link.call(action, payload))
    except CallRefused as error:
        status, detail = REFUSED, str(error)
    except TimeoutError:
        status = detail = NO_ANSWER
    metrics.password_renewals[dialect.ocpp_version, status] += 1
    if status == "Accepted":
        log.info("charger %s took its new password", charger_id)
    else:
        log.warning("charger %s did not take its new password (%s); asked again at its next "
                    "connection", charger_id, detail)
    return status
