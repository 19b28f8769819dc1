"""`ocpp-gateway`: run the OCPP gateway until SIGTERM or SIGINT.

`ocpp-gateway password SERIAL [SERIAL ...]`: print each charger's password under security
profile 1 or 2 (from `OCPP_AUTH_SECRET`), to provision as its `AuthorizationKey` (OCPP 1.6)
or `BasicAuthPassword` (2.0.1), a line `serial<TAB>password` each."""

from __future__ import annotations

import os
import sys

from services.common.serving import run_service
from services.ocpp_gateway.config import MIN_AUTH_SECRET_BYTES, GatewaySettings
from services.ocpp_gateway.credentials import password
from services.ocpp_gateway.service import OcppGateway

USAGE = "usage: ocpp-gateway [password SERIAL [SERIAL ...]]"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        run_service(lambda: OcppGateway(GatewaySettings.from_env()),
                    quiet=("websockets", "aiokafka"))
        return
    if args[0] != "password" or len(args) < 2:
        sys.exit(USAGE)
    secret = os.environ.get("OCPP_AUTH_SECRET", "").encode()
    if len(secret) < MIN_AUTH_SECRET_BYTES:
        sys.exit(f"OCPP_AUTH_SECRET must be set, at least {MIN_AUTH_SECRET_BYTES} bytes")
    for serial in args[1:]:
        print(f"{serial}\t{password(secret, serial)}")


if __name__ == "__main__":
    main()
