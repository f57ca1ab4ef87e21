"""Where a request comes from: the caller's source IP, read in this one place (audit actors, rate
limits, sessions, sign-in)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def client_ip(scope: Mapping[str, Any]) -> str | None:
    """API Gateway's ``requestContext.identity.sourceIp``, else the ASGI client's address.

    ``scope`` is the ASGI scope or a Starlette ``Request`` (a mapping over its scope)."""
    event = scope.get("aws.event") or {}
    source = ((event.get("requestContext") or {}).get("identity") or {}).get("sourceIp")
    if source:
        return str(source)
    client = scope.get("client")
    return str(client[0]) if client else None
