"""The OCPP versions the gateway speaks, by WebSocket subprotocol (one list, so the
handshake, the connection and the metrics cannot disagree)."""

from __future__ import annotations

from services.ocpp_gateway.dialects import Dialect
from services.ocpp_gateway.dialects.v16 import Ocpp16
from services.ocpp_gateway.dialects.v201 import Ocpp201

DIALECTS: dict[str, Dialect] = {d.subprotocol: d for d in (Ocpp16(), Ocpp201())}
SUBPROTOCOLS = tuple(DIALECTS)
