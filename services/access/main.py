"""`access-service`: runs the access service until SIGTERM / SIGINT, then drains."""

from __future__ import annotations

from services.access.bootstrap import AccessService
from services.access.config import AccessSettings
from services.common.serving import run_service


def main() -> None:
    run_service(lambda: AccessService(AccessSettings.from_env()), quiet=["aiokafka"],
                name="access-service")


if __name__ == "__main__":
    main()
