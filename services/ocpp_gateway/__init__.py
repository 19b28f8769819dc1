"""The OCPP gateway: charge points connect here over OCPP-J and are kept in step with the
access service's read model (Authorize online, the local list for offline)."""
