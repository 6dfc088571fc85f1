"""Named errors of the look-up service (all ServiceError, so `scout serve` reports them plainly)."""

from __future__ import annotations

from streaming.errors import ServiceError


class ApiTokenRequiredError(ServiceError):
    """The service would listen beyond loopback without an API token to check."""

    def __init__(self, host: str) -> None:
        super().__init__(
            f"service.host is {host!r}, not a loopback address, and service.api_token is not set: "
            "anyone who can reach the port could read every profile. Set service.api_token "
            "(e.g. SCOUT_SERVICE__API_TOKEN=$(openssl rand -hex 24)) or bind 127.0.0.1."
        )
        self.host = host
