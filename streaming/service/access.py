"""Who may call the service: the API token (bearer header) and the loopback rule.

On a loopback host the token is optional; on any other host ``check_exposure`` refuses to build the
service without one. When a token is set, every route but the health probes and the page's own
static files (which carry no data) needs ``Authorization: Bearer TOKEN``; the token is compared in
constant time.

    check_exposure(settings.service)            # raises ApiTokenRequiredError
    app.include_router(router, dependencies=token_dependencies(settings.service))
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated

from fastapi import Depends, HTTPException, params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from streaming.config import ServiceSettings
from streaming.service.errors import ApiTokenRequiredError

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
CHALLENGE = {"WWW-Authenticate": "Bearer"}

_bearer = HTTPBearer(auto_error=False, description="service.api_token, sent as `Authorization: Bearer TOKEN`")


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # any other name may resolve anywhere


def check_exposure(service: ServiceSettings) -> None:
    """Refuse a service reachable beyond loopback that has no token to check."""
    if service.api_token is None and not is_loopback(service.host):
        raise ApiTokenRequiredError(service.host)


def token_dependencies(service: ServiceSettings) -> list[params.Depends]:
    """The router dependencies that enforce ``service.api_token`` (none when it is not set, so the
    OpenAPI document then declares no security either)."""
    if service.api_token is None:
        return []
    expected = service.api_token.get_secret_value().encode()

    def require_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(
                401, "this service needs an API token: send Authorization: Bearer TOKEN", headers=CHALLENGE
            )
        if not hmac.compare_digest(credentials.credentials.encode(), expected):
            raise HTTPException(
                401, "the API token is not the one configured (service.api_token)", headers=CHALLENGE
            )

    return [Depends(require_token)]
