"""`ocpp-gateway`: run the OCPP gateway until SIGTERM or SIGINT."""

from __future__ import annotations

from services.common.serving import run_service
from services.ocpp_gateway.config import GatewaySettings
from services.ocpp_gateway.service import OcppGateway


def main() -> None:
    run_service(lambda: OcppGateway(GatewaySettings.from_env()), quiet=("websockets", "aiokafka"))


if __name__ == "__main__":
    main()
