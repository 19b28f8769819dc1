"""The gateway's TLS for security profile 2: OCPP asks for TLS 1.2 or later, and a server
certificate the chargers verify against the operator's CA (installed on each charger)."""

from __future__ import annotations

import ssl

from services.common.errors import SettingError


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as error:
        raise SettingError(f"OCPP_TLS_CERT_FILE / OCPP_TLS_KEY_FILE could not be loaded "
                           f"({type(error).__name__}: {error.strerror or error})") from None
    return context
