"""`notifications-service`: run the notification service until SIGTERM or SIGINT."""

from __future__ import annotations

from services.common.serving import run_service
from services.notifications.config import NotificationSettings
from services.notifications.service import NotificationService


def main() -> None:
    run_service(lambda: NotificationService(NotificationSettings.from_env()),
                name="notifications-service")


if __name__ == "__main__":
    main()
